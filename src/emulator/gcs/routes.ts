/**
 * The Cloud Storage JSON API subset a batch client needs: uploads
 * (resumable, media, multipart), object metadata, list, download (ranged,
 * with x-goog-hash), delete. Paths are served with and without the
 * `/storage/v1` prefix: @google-cloud/storage with STORAGE_EMULATOR_HOST calls
 * metadata, list, download and delete without it.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { originOf } from '../context.js';
import type { Context } from '../context.js';
import { authMessage, WWW_AUTHENTICATE, type BearerAuth } from '../vertex/auth.js';
import { BodyFile } from './body-file.js';
import { parseGoogHash } from './checksums.js';
import { md5Thread } from './md5-thread.js';
import { badRequest, GcsError, sendGcsError } from './errors.js';
import { boundaryOf, readMultipartRelated } from './multipart.js';
import type { GcsObject, ObjectStore } from './object-store.js';
import { drain, header, ResumableUploads } from './resumable.js';

const OBJECTS = /^\/(?:storage\/v1\/|download\/storage\/v1\/)?b\/([^/]+)\/o$/;
const OBJECT = /^\/(?:storage\/v1\/|download\/storage\/v1\/)?b\/([^/]+)\/o\/(.+)$/;
const UPLOAD = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/;
const BUCKET = /^\/(?:storage\/v1\/)?b\/([^/]+)$/;

export class GcsRoutes {
  private readonly ctx: Context;
  private readonly store: ObjectStore;
  private readonly uploads: ResumableUploads;
  private readonly auth: BearerAuth;
  private cutsLeft: number;
  private readonly fallbackOrigin: () => string;

  constructor(ctx: Context, store: ObjectStore, auth: BearerAuth, fallbackOrigin: () => string) {
    this.ctx = ctx;
    this.store = store;
    this.uploads = new ResumableUploads(store);
    this.auth = auth;
    this.cutsLeft = ctx.options.gcsCutDownloads ?? 0;
    this.fallbackOrigin = fallbackOrigin;
  }

  /** Serves the request when it is a Cloud Storage one; false leaves it to the other services. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const run = this.route(req, res, url);
    if (!run) return false;
    // Started by the first Cloud Storage call (an upload's session start, before any bytes), not by
    // the first bytes: its start-up (tens of ms) held that upload's first pieces. A process that
    // serves only the Developer API never starts it.
    md5Thread();
    const fail = (err: unknown): void => {
      if (err instanceof GcsError) sendGcsError(res, err);
      else sendGcsError(res, new GcsError(500, 'backendError', `Internal emulator error: ${(err as Error).message}`));
    };
    try {
      const problem = this.auth.check(req, false);
      if (problem) throw new GcsError(401, 'authError', authMessage(problem), WWW_AUTHENTICATE);
      // errorRates apply by the Developer API's groups: upload, download, and files (metadata, list, delete).
      const injected = this.ctx.faults.httpError(run.group);
      if (injected) {
        this.ctx.counters.add('injectedErrors');
        if (injected.code === 0) req.socket.destroy();
        else sendGcsError(res, new GcsError(injected.code, injected.code === 429 ? 'rateLimitExceeded' : 'backendError', injected.message));
        return true;
      }
      run.run().catch(fail);
    } catch (err) {
      fail(err);
    }
    return true;
  }

  private route(req: IncomingMessage, res: ServerResponse, url: URL): { group: 'upload' | 'download' | 'files'; run: () => Promise<void> } | undefined {
    const p = url.pathname;
    const q = url.searchParams;
    const origin = originOf(req, this.fallbackOrigin());
    const count = (name: string): void => this.ctx.counters.route(`gcs.${name}`);
    let m = UPLOAD.exec(p);
    if (m) {
      const bucket = decodeURIComponent(m[1]!);
      const uploadId = q.get('upload_id');
      const up = (run: () => Promise<void>): { group: 'upload'; run: () => Promise<void> } => ({ group: 'upload', run });
      if (uploadId !== null && req.method === 'PUT') return up(async () => (count('upload'), this.uploads.put(req, res, uploadId, origin)));
      if (uploadId !== null && req.method === 'DELETE') return up(async () => (count('upload'), this.uploads.cancel(res, uploadId)));
      if (req.method === 'POST') return up(async () => (count('upload'), this.startUpload(req, res, bucket, q, origin)));
      return undefined;
    }
    m = OBJECT.exec(p);
    if (m) {
      const bucket = decodeURIComponent(m[1]!);
      const name = decodeURIComponent(m[2]!);
      if (req.method === 'GET' && q.get('alt') === 'media') return { group: 'download', run: async () => (count('download'), this.download(req, res, bucket, name)) };
      if (req.method === 'GET') {
        return { group: 'files', run: async () => (count('get'), json(res, 200, this.store.toResource(this.store.require(bucket, name), origin))) };
      }
      if (req.method === 'DELETE') {
        return {
          group: 'files',
          run: async () => {
            count('delete');
            this.store.delete(bucket, name, q.get('ifGenerationMatch'));
            res.writeHead(204);
            res.end();
          },
        };
      }
      return undefined;
    }
    m = OBJECTS.exec(p);
    if (m && req.method === 'GET') return { group: 'files', run: async () => (count('list'), this.list(res, decodeURIComponent(m![1]!), q, origin)) };
    m = BUCKET.exec(p);
    if (m && req.method === 'GET') {
      // Every bucket exists: clients that check first (bucket.exists()) get a plausible resource.
      const name = decodeURIComponent(m[1]!);
      return { group: 'files', run: async () => json(res, 200, { kind: 'storage#bucket', id: name, name, location: 'US', storageClass: 'STANDARD', metageneration: '1' }) };
    }
    return undefined;
  }

  private async startUpload(req: IncomingMessage, res: ServerResponse, bucket: string, q: URLSearchParams, origin: string): Promise<void> {
    const type = q.get('uploadType');
    const ifGen = q.get('ifGenerationMatch');
    if (type === 'resumable') {
      const body = await readSmallJson(req);
      const name = q.get('name') ?? (typeof body.name === 'string' ? body.name : undefined);
      if (!name) throw badRequest('Required parameter: name');
      const declaredRaw = header(req, 'x-upload-content-length');
      const declared = declaredRaw === undefined ? undefined : Number(declaredRaw);
      if (declared !== undefined && (!Number.isSafeInteger(declared) || declared < 0)) throw badRequest(`Invalid X-Upload-Content-Length: ${declaredRaw}`);
      const id = this.uploads.start({
        bucket,
        name,
        contentType: header(req, 'x-upload-content-type') ?? (typeof body.contentType === 'string' ? body.contentType : 'application/octet-stream'),
        metadata: stringRecord(body.metadata),
        declared,
        ifGenerationMatch: ifGen,
      });
      const location = `${origin}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
      res.writeHead(200, { location, 'x-guploader-uploadid': id, 'content-length': 0 });
      res.end();
      return;
    }
    if (type !== 'media' && type !== 'multipart') throw badRequest(`Unsupported uploadType: ${type ?? '(none)'}`);
    const tmp = this.store.tmpPath();
    const f = await BodyFile.open(tmp);
    let meta: Record<string, unknown> = {};
    let contentType = header(req, 'content-type') ?? 'application/octet-stream';
    try {
      if (type === 'media') {
        for await (const chunk of req as AsyncIterable<Buffer>) await f.write(chunk);
      } else {
        const boundary = boundaryOf(header(req, 'content-type'));
        if (!boundary) throw badRequest('A multipart upload needs Content-Type: multipart/related; boundary=…');
        const head = await readMultipartRelated(req as AsyncIterable<Buffer>, boundary, (c) => f.write(c));
        meta = isObject(head.metadata) ? head.metadata : {};
        contentType = (typeof meta.contentType === 'string' ? meta.contentType : head.contentType) ?? 'application/octet-stream';
      }
    } catch (err) {
      await f.close();
      f.sums.discard();
      this.store.discard(tmp);
      throw err;
    }
    await f.close();
    const name = q.get('name') ?? (typeof meta.name === 'string' ? meta.name : undefined);
    if (!name) {
      f.sums.discard();
      this.store.discard(tmp);
      throw badRequest('Required parameter: name');
    }
    const hashes = await f.sums.digest();
    const sent = parseGoogHash(header(req, 'x-goog-hash'));
    const claimed = { crc32c: sent.crc32c ?? (typeof meta.crc32c === 'string' ? meta.crc32c : undefined), md5: sent.md5 ?? (typeof meta.md5Hash === 'string' ? meta.md5Hash : undefined) };
    if ((claimed.crc32c && claimed.crc32c !== hashes.crc32c) || (claimed.md5 && claimed.md5 !== hashes.md5Hash)) {
      this.store.discard(tmp);
      throw badRequest(`Provided checksums do not match the data (crc32c=${hashes.crc32c}, md5=${hashes.md5Hash}).`);
    }
    const o = this.store.commit(bucket, name, tmp, { size: f.size, contentType, metadata: stringRecord(meta.metadata), ...hashes }, ifGen);
    json(res, 200, this.store.toResource(o, origin));
  }

  private list(res: ServerResponse, bucket: string, q: URLSearchParams, origin: string): void {
    const maxRaw = q.get('maxResults');
    const max = maxRaw === null || maxRaw === '' ? 1000 : Number(maxRaw);
    if (!Number.isInteger(max) || max < 1) throw badRequest(`Invalid maxResults: ${maxRaw}`);
    const token = q.get('pageToken');
    const page = this.store.list(bucket, {
      prefix: q.get('prefix') ?? '',
      delimiter: q.get('delimiter') ?? '',
      after: token ? Buffer.from(token, 'base64url').toString('utf8') : undefined,
      maxResults: Math.min(max, 1000),
    });
    const body: Record<string, unknown> = { kind: 'storage#objects' };
    if (page.prefixes.length > 0) body.prefixes = page.prefixes;
    if (page.items.length > 0) body.items = page.items.map((o) => this.store.toResource(o, origin));
    if (page.lastName !== undefined) body.nextPageToken = Buffer.from(page.lastName).toString('base64url');
    json(res, 200, body);
  }

  /** `alt=media`, whole or from `Range: bytes=n-` (206); the gcsCutDownloads knob cuts the body halfway. */
  private async download(req: IncomingMessage, res: ServerResponse, bucket: string, name: string): Promise<void> {
    const o = this.store.require(bucket, name);
    const range = parseRange(header(req, 'range'), o.size);
    const headers: Record<string, string | number> = {
      'content-type': o.contentType,
      'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`,
      'x-goog-generation': o.generation,
      'x-goog-metageneration': '1',
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-stored-content-length': String(o.size),
      'accept-ranges': 'bytes',
    };
    let status = 200;
    let start = 0;
    let end = o.size - 1;
    if (range) {
      ({ start, end } = range);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${o.size}`;
    }
    const length = Math.max(0, end - start + 1);
    headers['content-length'] = length;
    res.writeHead(status, headers);
    if (length === 0) {
      res.end();
      return;
    }
    const cutAt = this.cutsLeft > 0 ? Math.max(1, Math.floor(length / 2)) : undefined;
    if (cutAt !== undefined) {
      this.cutsLeft--;
      this.ctx.counters.add('downloadCuts');
    }
    await sendBody(req, res, o, start, end, cutAt);
  }
}

async function sendBody(req: IncomingMessage, res: ServerResponse, o: GcsObject, start: number, end: number, cutAt: number | undefined): Promise<void> {
  const rs = createReadStream(o.file, { start, end, highWaterMark: 256 << 10 });
  let sent = 0;
  try {
    for await (const chunk of rs as AsyncIterable<Buffer>) {
      if (res.destroyed) break;
      let take = chunk;
      const cut = cutAt !== undefined && sent + take.length >= cutAt;
      if (cut) take = take.subarray(0, cutAt - sent);
      sent += take.length;
      const room = res.write(take);
      if (cut) {
        // Let the bytes leave, then drop the connection: the client sees a short body.
        await new Promise<void>((r) => res.write('', () => r()));
        req.socket.destroy();
        return;
      }
      if (!room) await untilDrainOrClose(res);
    }
    res.end();
  } finally {
    rs.destroy();
  }
}

/** Until the response drains or closes; the listener of the other event is removed (one pair per wait would pile up over a large body). */
function untilDrainOrClose(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** `bytes=n-`, `bytes=n-m`, `bytes=-k`; undefined = the whole object. Past the end: 416. */
export function parseRange(h: string | undefined, size: number): { start: number; end: number } | undefined {
  if (h === undefined || h === '') return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw badRequest(`Invalid Range header: ${h}`);
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size && !(size === 0 && start === 0)) {
    throw new GcsError(416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.', { 'content-range': `bytes */${size}` });
  }
  return { start, end };
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = String(x);
  return out;
}

async function readSmallJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1 << 20) {
      await drain(req);
      throw badRequest('Upload metadata is too large.');
    }
    parts.push(chunk);
  }
  const text = Buffer.concat(parts, size).toString('utf8').trim();
  if (text === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    return isObject(v) ? v : {};
  } catch {
    throw badRequest('Upload metadata is not valid JSON.');
  }
}
