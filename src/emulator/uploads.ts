/**
 * Resumable upload sessions (Google's X-Goog-Upload protocol): start,
 * upload pieces at an offset, query, cancel, finalize. Piece bytes go to
 * disk as they arrive, so a cut connection still counts what got through.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Context } from './context.js';
import { originOf } from './context.js';
import type { StoredFile } from './file-store.js';
import { LineCounter } from './line-counter.js';
import { randomId } from './prng.js';
import { storageExceeded } from './quota.js';
import { HttpError, invalid, isRecord, notFound, readJson, sendError, sendJson } from './wire.js';

type SessionState = 'active' | 'final' | 'cancelled';

interface Session {
  uploadId: string;
  fileId: string;
  displayName: string | undefined;
  mimeType: string;
  declaredSize: number | undefined;
  partPath: string;
  received: number;
  hash: Hash;
  lines: LineCounter;
  state: SessionState;
  pieces: number;
  cuts: number;
  file: StoredFile | undefined;
  /** Pieces and queries of one session run one at a time: a retry waits for the aborted piece to settle. */
  lock: Promise<void>;
}

const FILE_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class Uploads {
  private readonly sessions = new Map<string, Session>();
  private readonly dir: string;
  private readonly ctx: Context;

  constructor(ctx: Context) {
    this.ctx = ctx;
    this.dir = join(ctx.dataDir, 'uploads');
    mkdirSync(this.dir, { recursive: true });
  }

  /** POST /upload/v1beta/files with X-Goog-Upload-Command: start. */
  async start(req: IncomingMessage, res: ServerResponse, fallbackOrigin: string): Promise<void> {
    const body = await readJson(req, 1 << 20);
    const file = isRecord(body) && isRecord(body.file) ? body.file : {};
    const { settings, files } = this.ctx;

    let fileId = randomId(12);
    if (typeof file.name === 'string' && file.name !== '') {
      fileId = file.name.startsWith('files/') ? file.name.slice(6) : file.name;
      if (!FILE_ID.test(fileId)) {
        throw invalid(`Invalid file name "${file.name}": use files/ plus at most 40 characters of [a-z0-9-].`);
      }
      if (files.has(fileId) || [...this.sessions.values()].some((s) => s.fileId === fileId && s.state === 'active')) {
        throw new HttpError(409, `File files/${fileId} already exists.`);
      }
    }

    const declaredRaw = header(req, 'x-goog-upload-header-content-length') ?? (file.sizeBytes as string | undefined);
    let declaredSize: number | undefined;
    if (declaredRaw !== undefined && declaredRaw !== '') {
      declaredSize = Number(declaredRaw);
      if (!Number.isSafeInteger(declaredSize) || declaredSize < 0) throw invalid(`Invalid upload size: ${declaredRaw}`);
      if (declaredSize > settings.maxFileBytes) {
        throw invalid(`File size ${declaredSize} bytes exceeds the maximum of ${settings.maxFileBytes} bytes.`);
      }
      this.checkStorage(undefined, declaredSize);
    }

    const uploadId = randomId(24);
    const s: Session = {
      uploadId,
      fileId,
      displayName: typeof file.displayName === 'string' ? file.displayName : undefined,
      mimeType:
        (typeof file.mimeType === 'string' && file.mimeType) ||
        header(req, 'x-goog-upload-header-content-type') ||
        'application/octet-stream',
      declaredSize,
      partPath: join(this.dir, `${uploadId}.part`),
      received: 0,
      hash: createHash('sha256'),
      lines: new LineCounter(),
      state: 'active',
      pieces: 0,
      cuts: 0,
      file: undefined,
      lock: Promise.resolve(),
    };
    // Create the part file now: a query before any piece must find 0 bytes, not an error.
    await (await open(s.partPath, 'w')).close();
    this.sessions.set(uploadId, s);
    this.ctx.counters.add('uploadsStarted');

    const url = `${originOf(req, fallbackOrigin)}/upload/v1beta/files?upload_id=${uploadId}&upload_protocol=resumable`;
    res.writeHead(200, {
      'x-goog-upload-url': url,
      'x-goog-upload-status': 'active',
      'x-guploader-uploadid': uploadId,
      'content-length': 0,
    });
    res.end();
  }

  /** POST <upload url>: upload / upload, finalize / finalize / query / cancel. */
  async command(req: IncomingMessage, res: ServerResponse, uploadId: string): Promise<void> {
    const s = this.sessions.get(uploadId);
    if (!s) throw notFound(`Upload session ${uploadId}`);
    const commands = (header(req, 'x-goog-upload-command') ?? '')
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter(Boolean);
    const prev = s.lock;
    let release = (): void => {};
    s.lock = new Promise<void>((r) => (release = r));
    await prev;
    try {
      await this.run(req, res, s, new Set(commands));
    } finally {
      release();
    }
  }

  private async run(req: IncomingMessage, res: ServerResponse, s: Session, cmds: Set<string>): Promise<void> {
    if (cmds.has('query')) return this.answer(res, s);
    if (cmds.has('cancel')) {
      if (s.state === 'active') {
        s.state = 'cancelled';
        rmSync(s.partPath, { force: true });
      }
      return this.answer(res, s);
    }
    if (!cmds.has('upload') && !cmds.has('finalize')) {
      throw invalid(`Unknown X-Goog-Upload-Command "${[...cmds].join(', ')}": expected upload, finalize, query or cancel.`);
    }
    if (s.state === 'final') {
      // A finalize whose answer was lost, sent again: answer the same file rather than an error.
      return this.answer(res, s);
    }
    if (s.state === 'cancelled') {
      throw new HttpError(400, 'The upload session was cancelled.', { status: 'FAILED_PRECONDITION' });
    }

    const offsetRaw = header(req, 'x-goog-upload-offset');
    if (offsetRaw !== undefined) {
      const offset = Number(offsetRaw);
      if (!Number.isSafeInteger(offset) || offset < 0) throw invalid(`Invalid X-Goog-Upload-Offset: ${offsetRaw}`);
      if (offset !== s.received) {
        throw invalid(
          `X-Goog-Upload-Offset ${offset} does not match the ${s.received} bytes received so far; ` +
            `query the upload (X-Goog-Upload-Command: query) and resume from x-goog-upload-size-received.`,
        );
      }
    } else if (cmds.has('upload')) {
      throw invalid('X-Goog-Upload-Offset is required with X-Goog-Upload-Command: upload.');
    }
    const lengthRaw = header(req, 'content-length');
    if (lengthRaw !== undefined && s.received + Number(lengthRaw) > this.ctx.settings.maxFileBytes) {
      throw invalid(`Upload exceeds the maximum file size of ${this.ctx.settings.maxFileBytes} bytes.`);
    }

    if (lengthRaw !== undefined) this.checkStorage(s, s.received + Number(lengthRaw));

    s.pieces++;
    const cut = await this.ingest(req, s);
    if (cut) return; // the socket is gone; nothing to answer
    if (cmds.has('finalize')) this.finalize(s);
    this.answer(res, s);
  }

  /**
   * Refuses an upload that would take the project over its file storage cap:
   * stored files plus the bytes other live sessions hold, plus `total` for this one.
   */
  private checkStorage(self: Session | undefined, total: number): void {
    const limit = this.ctx.settings.storageLimitBytes;
    let used = this.ctx.files.usedBytes();
    for (const o of this.sessions.values()) if (o !== self && o.state === 'active') used += o.received;
    if (used + total > limit) throw storageExceeded(limit, used, total);
  }

  /** Appends the piece to the part file; returns true when the connection was cut on purpose. */
  private async ingest(req: IncomingMessage, s: Session): Promise<boolean> {
    const cutAt = this.ctx.faults.cutPiece(s.pieces, s.cuts);
    const max = this.ctx.settings.maxFileBytes;
    // Held now: leaving the for-await below destroys req, which detaches req.socket.
    const socket = req.socket;
    const fh = await open(s.partPath, 'a');
    let pieceBytes = 0;
    let cut = false;
    try {
      if (cutAt === 0) cut = true;
      else {
        for await (const chunk of req as AsyncIterable<Buffer>) {
          let take = chunk;
          if (cutAt !== undefined && pieceBytes + take.length >= cutAt) {
            take = take.subarray(0, cutAt - pieceBytes);
            cut = true;
          }
          if (s.received + take.length > max) {
            throw invalid(`Upload exceeds the maximum file size of ${max} bytes.`);
          }
          await fh.write(take);
          s.hash.update(take);
          s.lines.push(take);
          s.received += take.length;
          pieceBytes += take.length;
          if (cut) break;
        }
      }
    } catch (err) {
      // A client that went away mid-piece: what reached the disk stays and counts.
      if (err instanceof HttpError) throw err;
      return true;
    } finally {
      await fh.close();
    }
    if (cut) {
      s.cuts++;
      this.ctx.counters.add('uploadCuts');
      socket.destroy();
    }
    return cut;
  }

  private finalize(s: Session): void {
    if (s.declaredSize !== undefined && s.declaredSize !== s.received) {
      throw invalid(
        `Upload finalized with ${s.received} bytes but X-Goog-Upload-Header-Content-Length declared ${s.declaredSize}.`,
      );
    }
    s.file = this.ctx.files.add(s.partPath, {
      id: s.fileId,
      mimeType: s.mimeType,
      sizeBytes: s.received,
      sha256Hex: s.hash.digest('hex'),
      source: 'UPLOADED',
      lines: s.lines.total(),
      ...(s.displayName !== undefined ? { displayName: s.displayName } : {}),
    });
    s.state = 'final';
    this.ctx.counters.add('uploadsFinalized');
  }

  private answer(res: ServerResponse, s: Session): void {
    const headers = {
      'x-goog-upload-status': s.state,
      'x-goog-upload-size-received': String(s.received),
    };
    if (s.state === 'final' && s.file) {
      const origin = `http://${res.req.headers.host ?? '127.0.0.1'}`;
      sendJson(res, 200, { file: this.ctx.files.toResource(s.file, origin) }, headers);
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': 0 });
    res.end();
  }

  /** Errors on upload pieces carry the status header too, so clients can tell a live session from a dead one. */
  fail(res: ServerResponse, uploadId: string, err: HttpError): void {
    const s = this.sessions.get(uploadId);
    sendError(res, err, s ? { 'x-goog-upload-status': s.state, 'x-goog-upload-size-received': String(s.received) } : {});
  }
}
