/**
 * The Cloud Storage JSON API subset the backend needs (VERTEX.md): resumable
 * create-only uploads, metadata, list by prefix, ranged resumable verified
 * downloads, delete. Uploads stream pieces of 8 MiB (a multiple of 256 KiB)
 * from disk; after any failure the session is asked how much it holds and
 * the upload continues from there, so a session journaled before a crash
 * continues too. `ifGenerationMatch=0` makes every upload create-only: a 412
 * means our object is already there (an upload whose last answer was lost),
 * and it is taken once its size and checksum match the local file.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { GeminiApiError } from '../../backend/service-error.js';
import type { InputHooks } from '../../backend/types.js';
import { GeminiBatchError, abortError } from '../../errors.js';
import { nextDelay, sleep, type BackoffOptions } from '../../internal/backoff.js';
import { header } from '../gemini/http.js';
import { fileHashes, mismatch, parseGoogHash, StreamHash } from './checksum.js';
import type { VertexHttp } from './http.js';

export const DEFAULT_STORAGE_BASE = 'https://storage.googleapis.com';
/** Upload pieces: a multiple of 256 KiB, as the protocol requires of every piece but the last. */
export const PIECE_BYTES = 8 * 1024 * 1024;

export interface GcsObject {
  bucket: string;
  name: string;
  size: number;
  generation?: string;
  crc32c?: string;
  md5Hash?: string;
}

/** `gs://bucket/some/name` → its parts; throws on anything else. */
export function parseGsUri(uri: string): { bucket: string; name: string } {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new GeminiBatchError('ERR_INVALID_OPTIONS', `not a Cloud Storage URI (gs://bucket/name): ${JSON.stringify(uri)}`);
  return { bucket: m[1]!, name: m[2]! };
}

export const gsUri = (bucket: string, name: string): string => `gs://${bucket}/${name}`;

/** STORAGE_EMULATOR_HOST as the official client reads it (a bare host:port means http). */
export function storageBase(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.STORAGE_EMULATOR_HOST?.trim();
  if (!host) return DEFAULT_STORAGE_BASE;
  return (/^https?:\/\//.test(host) ? host : `http://${host}`).replace(/\/+$/, '');
}

function toObject(raw: Record<string, unknown>, bucket: string): GcsObject {
  return {
    bucket,
    name: String(raw.name ?? ''),
    size: Number(raw.size ?? 0),
    ...(raw.generation !== undefined ? { generation: String(raw.generation) } : {}),
    ...(typeof raw.crc32c === 'string' ? { crc32c: raw.crc32c } : {}),
    ...(typeof raw.md5Hash === 'string' ? { md5Hash: raw.md5Hash } : {}),
  };
}

/** How a download continues after a cut: a few quick tries, then the error. */
const RESUME: BackoffOptions = { initialMs: 200, maxMs: 5_000, factor: 2, jitter: 0.5, maxAttempts: 8, maxElapsedMs: Infinity };

export class Gcs {
  constructor(
    private readonly http: VertexHttp,
    readonly base: string = storageBase(),
  ) {}

  private objectUrl(bucket: string, name: string): string {
    return `${this.base}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`;
  }

  /** The object's metadata; undefined when it does not exist. */
  async stat(bucket: string, name: string, signal?: AbortSignal): Promise<GcsObject | undefined> {
    try {
      const raw = await this.http.retry(() => this.http.json<Record<string, unknown>>({ method: 'GET', url: this.objectUrl(bucket, name), ...sig(signal) }), sig(signal));
      return toObject(raw, bucket);
    } catch (err) {
      if (err instanceof GeminiApiError && err.httpStatus === 404) return undefined;
      throw err;
    }
  }

  /** Every object whose name starts with `prefix`, page by page. */
  list(bucket: string, prefix: string, signal?: AbortSignal): AsyncIterable<GcsObject> {
    const http = this.http;
    const base = `${this.base}/storage/v1/b/${encodeURIComponent(bucket)}/o`;
    return {
      async *[Symbol.asyncIterator]() {
        let pageToken: string | undefined;
        do {
          const q = new URLSearchParams({ prefix, maxResults: '1000' });
          if (pageToken) q.set('pageToken', pageToken);
          const page = await http.retry(() => http.json<{ items?: Array<Record<string, unknown>>; nextPageToken?: string }>({ method: 'GET', url: `${base}?${q}`, ...sig(signal) }), sig(signal));
          for (const item of page.items ?? []) yield toObject(item, bucket);
          pageToken = page.nextPageToken || undefined;
        } while (pageToken);
      },
    };
  }

  /** Remove an object; one that is already gone is fine. */
  async delete(bucket: string, name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.http.retry(async () => {
        const res = await this.http.send({ method: 'DELETE', url: this.objectUrl(bucket, name), ...sig(signal) });
        res.body.resume();
      }, sig(signal));
    } catch (err) {
      if (!(err instanceof GeminiApiError && err.httpStatus === 404)) throw err;
    }
  }

  /**
   * Every byte of the object, in order, to `sink` (awaited: its pace is the
   * download's), across cuts: a cut connection continues with `Range:
   * bytes=n-` on the same generation. The bytes are checked against the
   * object's crc32c (else md5) at the end; a mismatch throws DATA_LOSS.
   */
  async download(obj: GcsObject, sink: (chunk: Buffer) => Promise<void> | void, signal?: AbortSignal): Promise<void> {
    let hash: StreamHash | undefined;
    const url = `${this.objectUrl(obj.bucket, obj.name)}?alt=media${obj.generation ? `&generation=${encodeURIComponent(obj.generation)}` : ''}`;
    const route = `GET ${new URL(url).pathname}`;
    let received = 0;
    let want: { crc32c?: string; md5Hash?: string } = { ...(obj.crc32c ? { crc32c: obj.crc32c } : {}), ...(obj.md5Hash ? { md5Hash: obj.md5Hash } : {}) };
    const start = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const from = received;
        const res = await this.http.retry(
          () => this.http.send({ method: 'GET', url, headers: from > 0 ? { range: `bytes=${from}-` } : {}, ...sig(signal) }),
          sig(signal),
        );
        if (from === 0 && !want.crc32c && !want.md5Hash) want = parseGoogHash(res.headers['x-goog-hash']);
        // What the object is checked by is known now: MD5 only when it carries no CRC32C (every object but a very old one does).
        hash ??= await StreamHash.open({ md5: !want.crc32c && !!want.md5Hash });
        // A server that ignored the range sends the whole object again: skip what we have.
        let skip = from > 0 && res.status === 200 ? from : 0;
        try {
          for await (const piece of res.body as AsyncIterable<Buffer>) {
            let chunk = piece;
            if (skip > 0) {
              const cut = Math.min(skip, chunk.length);
              skip -= cut;
              chunk = chunk.subarray(cut);
              if (chunk.length === 0) continue;
            }
            hash.update(chunk);
            received += chunk.length;
            await sink(chunk);
          }
        } catch (err) {
          if (!res.body.destroyed) res.body.destroy();
          if (signal?.aborted) throw abortError(signal);
          throw err instanceof GeminiApiError || err instanceof GeminiBatchError ? err : this.http.networkError(err, route);
        }
        if (received < obj.size) throw this.http.networkError(Object.assign(new Error(`body ended at byte ${received} of ${obj.size}`), { code: 'ECONNRESET' }), route);
        break;
      } catch (err) {
        if (signal?.aborted) throw abortError(signal);
        const wait = err instanceof GeminiApiError && err.httpStatus === 0 && err.retryable ? nextDelay(attempt, RESUME, Math.random, { elapsedMs: Date.now() - start }) : undefined;
        if (wait === undefined) throw err;
        await sleep(wait, signal);
      }
    }
    // Checked by the CRC32C alone when the object has one (the MD5 was not computed then).
    const bad = hash ? mismatch(hash.digest(), want.crc32c ? { crc32c: want.crc32c } : want) : undefined;
    if (bad) {
      throw new GeminiApiError({ httpStatus: 200, status: 'DATA_LOSS', detail: `gs://${obj.bucket}/${obj.name}: ${bad} of the ${received} bytes read does not match the object's`, route, retryable: true });
    }
  }

  /** Upload a local file as a new object (create-only); resolves with the object. */
  async upload(path: string, bucket: string, name: string, hooks: InputHooks): Promise<GcsObject> {
    const { signal } = hooks;
    const total = (await stat(path)).size;
    let session = hooks.uploadUrl;
    let offset = 0;
    let acked = 0;
    const progress = (n: number) => {
      if (n > acked) hooks.onBytes?.(n - acked);
      acked = Math.max(acked, n);
    };
    if (session) {
      const q = await this.query(session, total, signal);
      if (q.kind === 'done') return { ...q.object, bucket };
      if (q.kind === 'exists') return this.takeExisting(path, bucket, name, total, signal);
      if (q.kind === 'gone') session = undefined;
      else acked = offset = q.received; // held since an earlier process: counted there
    }
    if (!session) {
      const started = await this.startSession(bucket, name, total, signal);
      if (started.kind === 'exists') return this.takeExisting(path, bucket, name, total, signal);
      session = started.url;
      await hooks.onUploadUrl?.(session);
    }
    const url = session;
    let mustQuery = false;
    for (;;) {
      const step = await this.http.retry(async () => {
        if (mustQuery) {
          const q = await this.query(url, total, signal);
          if (q.kind === 'done' || q.kind === 'exists') return q;
          if (q.kind === 'gone') throw new GeminiBatchError('ERR_UPLOAD', `the upload session for gs://${bucket}/${name} expired; run again to upload anew`);
          offset = q.received;
          mustQuery = false;
        }
        mustQuery = true; // a failure below leaves the offset unknown
        const r = await this.piece(url, path, offset, total, signal);
        mustQuery = false;
        return r;
      }, sig(signal));
      if (step.kind === 'done') {
        progress(total);
        return { ...step.object, bucket };
      }
      if (step.kind === 'exists') return this.takeExisting(path, bucket, name, total, signal);
      if (step.kind === 'partial') {
        offset = step.received;
        progress(offset);
      }
    }
  }

  private async startSession(bucket: string, name: string, total: number, signal?: AbortSignal): Promise<{ kind: 'session'; url: string } | { kind: 'exists' }> {
    const q = new URLSearchParams({ uploadType: 'resumable', name, ifGenerationMatch: '0' });
    const url = `${this.base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?${q}`;
    try {
      const res = await this.http.retry(
        () =>
          this.http.send({
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json', 'x-upload-content-type': 'application/jsonl', 'x-upload-content-length': String(total) },
            body: JSON.stringify({ name, contentType: 'application/jsonl' }),
            ...sig(signal),
          }),
        sig(signal),
      );
      res.body.resume();
      const location = header(res.headers, 'location');
      if (!location) throw new GeminiBatchError('ERR_UPLOAD', `Cloud Storage started an upload of gs://${bucket}/${name} without a session URI`);
      return { kind: 'session', url: new URL(location, url).toString() };
    } catch (err) {
      if (err instanceof GeminiApiError && err.httpStatus === 412) return { kind: 'exists' };
      throw err;
    }
  }

  /** One piece from `offset` (or the status query when there is nothing left to send). */
  private async piece(url: string, path: string, offset: number, total: number, signal?: AbortSignal): Promise<UploadStep> {
    const end = Math.min(offset + PIECE_BYTES, total);
    const range = end > offset ? `bytes ${offset}-${end - 1}/${total}` : `bytes */${total}`;
    try {
      const res = await this.http.send({
        method: 'PUT',
        url,
        headers: { 'content-range': range, 'content-length': String(end - offset) },
        body: () => (end > offset ? createReadStream(path, { start: offset, end: end - 1 }) : ''),
        okStatus: [308],
        ...sig(signal),
      });
      return await this.stepOf(res, url, signal);
    } catch (err) {
      if (err instanceof GeminiApiError && err.httpStatus === 412) return { kind: 'exists' };
      throw err;
    }
  }

  /** Ask the session how much it holds. */
  private async query(url: string, total: number, signal?: AbortSignal): Promise<UploadStep | { kind: 'gone' }> {
    try {
      return await this.http.retry(async () => {
        const res = await this.http.send({ method: 'PUT', url, headers: { 'content-range': `bytes */${total}`, 'content-length': '0' }, body: '', okStatus: [308], ...sig(signal) });
        return this.stepOf(res, url, signal);
      }, sig(signal));
    } catch (err) {
      if (err instanceof GeminiApiError && (err.httpStatus === 404 || err.httpStatus === 410)) return { kind: 'gone' };
      throw err;
    }
  }

  private async stepOf(res: Awaited<ReturnType<VertexHttp['send']>>, url: string, signal?: AbortSignal): Promise<UploadStep> {
    const text = await this.http.transport.readText(res.body, `PUT ${new URL(url).pathname}`, signal, Infinity);
    if (res.status === 308) {
      // `Range: bytes=0-x` names the last byte held; no Range: nothing yet.
      const m = /bytes=0-(\d+)/.exec(header(res.headers, 'range') ?? '');
      return { kind: 'partial', received: m ? Number(m[1]) + 1 : 0 };
    }
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new GeminiBatchError('ERR_UPLOAD', 'Cloud Storage finished an upload without the object');
    }
    return { kind: 'done', object: toObject(raw, String(raw.bucket ?? '')) };
  }

  /** Our object is there already (its upload's answer was lost): take it if it holds our bytes. */
  private async takeExisting(path: string, bucket: string, name: string, total: number, signal?: AbortSignal): Promise<GcsObject> {
    const obj = await this.stat(bucket, name, signal);
    if (obj && obj.size === total && !mismatch(await fileHashes(path, signal), obj)) return obj;
    throw new GeminiBatchError(
      'ERR_UPLOAD',
      `gs://${bucket}/${name} already exists with other content (${obj ? `${obj.size} bytes` : 'gone again'}); remove it or use another runId`,
    );
  }
}

type UploadStep = { kind: 'partial'; received: number } | { kind: 'done'; object: GcsObject } | { kind: 'exists' };

function sig(signal?: AbortSignal): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
