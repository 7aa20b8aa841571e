/**
 * The JSON API's resumable uploads: a POST opens a session (its URI in
 * `Location`), PUTs carry pieces with `Content-Range: bytes a-b/N` (`/*` while
 * the total is unknown), 308 + `Range: bytes=0-x` until the last piece, and an
 * empty PUT with `bytes * /N` asks how far the session got. Piece bytes go to
 * disk as they arrive, so a cut connection still counts what got through.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyFile } from './body-file.js';
import { Checksums, parseGoogHash } from './checksums.js';
import { badRequest, GcsError } from './errors.js';
import type { GcsObject, ObjectStore } from './object-store.js';

interface Session extends SessionStart {
  id: string;
  part: string;
  received: number;
  sums: Checksums;
  state: 'active' | 'final' | 'dead';
  object: GcsObject | undefined;
  /** Pieces and queries of one session run one at a time. */
  lock: Promise<void>;
}

/** What a PUT's Content-Range says. `end`/`total` undefined = `*`. */
type Piece =
  | { query: true; total: number | undefined }
  | { query: false; start: number; end: number | undefined; total: number | undefined; whole: boolean };

export function parseContentRange(header: string | undefined): Piece {
  if (header === undefined || header === '') return { query: false, start: 0, end: undefined, total: undefined, whole: true };
  const num = (s: string): number | undefined => (s === '*' ? undefined : Number(s));
  let m = /^bytes \*\/(\d+|\*)$/.exec(header.trim());
  if (m) return { query: true, total: num(m[1]!) };
  m = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(header.trim());
  if (!m) throw badRequest(`Invalid Content-Range header: ${header}`);
  const start = Number(m[1]);
  const end = num(m[2]!);
  const total = num(m[3]!);
  if (end !== undefined && end < start) throw badRequest(`Invalid Content-Range header: ${header}`);
  // `a-*/*`: the rest of the object is this request's body (what @google-cloud/storage sends in one go).
  return { query: false, start, end, total, whole: end === undefined && total === undefined };
}

export interface SessionStart {
  bucket: string;
  name: string;
  contentType: string;
  metadata: Record<string, string> | undefined;
  declared: number | undefined;
  ifGenerationMatch: string | null;
}

export class ResumableUploads {
  private readonly sessions = new Map<string, Session>();
  private readonly store: ObjectStore;

  constructor(store: ObjectStore) {
    this.store = store;
  }

  /** Opens a session; returns its id. A create-only condition that already fails is refused now. */
  start(spec: SessionStart): string {
    this.store.checkGeneration(spec.bucket, spec.name, spec.ifGenerationMatch);
    const id = randomBytes(18).toString('base64url');
    const part = this.store.tmpPath();
    writeFileSync(part, '');
    this.sessions.set(id, { ...spec, id, part, received: 0, sums: new Checksums(), state: 'active', object: undefined, lock: Promise.resolve() });
    return id;
  }

  /** PUT on a session URI. */
  async put(req: IncomingMessage, res: ServerResponse, id: string, origin: string): Promise<void> {
    const s = this.session(id);
    const prev = s.lock;
    let release = (): void => {};
    s.lock = new Promise<void>((r) => (release = r));
    await prev;
    try {
      await this.run(req, res, s, origin);
    } finally {
      release();
    }
  }

  /** DELETE on a session URI: the session ends, 499 like the service. */
  cancel(res: ServerResponse, id: string): void {
    const s = this.session(id);
    if (s.state === 'active') {
      s.state = 'dead';
      s.sums.discard();
      rmSync(s.part, { force: true });
    }
    res.writeHead(499, { 'content-length': 0 });
    res.end();
  }

  private session(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new GcsError(404, 'notFound', 'No such upload session.');
    return s;
  }

  private async run(req: IncomingMessage, res: ServerResponse, s: Session, origin: string): Promise<void> {
    const piece = parseContentRange(header(req, 'content-range'));
    if (s.state === 'final') {
      // A last piece whose answer was lost, sent again: the same object.
      await drain(req);
      return this.answer(res, s, origin);
    }
    if (s.state === 'dead') throw new GcsError(410, 'gone', 'The upload session has ended; start a new one.');
    if (piece.query) {
      await drain(req);
      if (piece.total !== undefined && piece.total === s.received) await this.finalize(req, s);
      return this.answer(res, s, origin);
    }
    if (piece.start > s.received) {
      throw badRequest(
        `Invalid request. According to the Content-Range header, the upload offset is ${piece.start} byte(s), ` +
          `which exceeds already uploaded size of ${s.received} byte(s).`,
      );
    }
    if (!(await this.ingest(req, s, s.received - piece.start))) return; // the client went away mid-piece
    const complete =
      piece.whole ||
      (piece.total !== undefined && s.received >= piece.total) ||
      (piece.end !== undefined && piece.total !== undefined && piece.end + 1 === piece.total);
    if (complete) {
      if (piece.total !== undefined && s.received !== piece.total) {
        throw badRequest(`Upload has ${s.received} bytes but Content-Range declared ${piece.total}.`);
      }
      await this.finalize(req, s);
    }
    this.answer(res, s, origin);
  }

  /** Appends the body (minus `skip` bytes already held) to the part file; false when the connection broke. */
  private async ingest(req: IncomingMessage, s: Session, skip: number): Promise<boolean> {
    const f = await BodyFile.open(s.part, { sums: s.sums, size: s.received });
    let toSkip = skip;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        let take = chunk;
        if (toSkip > 0) {
          const n = Math.min(toSkip, take.length);
          toSkip -= n;
          take = take.subarray(n);
        }
        await f.write(take);
        s.received = f.size;
      }
      return true;
    } catch {
      return false;
    } finally {
      await f.close();
    }
  }

  private async finalize(req: IncomingMessage, s: Session): Promise<void> {
    if (s.declared !== undefined && s.declared !== s.received) {
      throw badRequest(`Upload has ${s.received} bytes but X-Upload-Content-Length declared ${s.declared}.`);
    }
    const hashes = await s.sums.digest();
    const sent = parseGoogHash(header(req, 'x-goog-hash'));
    s.state = 'dead';
    if ((sent.crc32c && sent.crc32c !== hashes.crc32c) || (sent.md5 && sent.md5 !== hashes.md5Hash)) {
      rmSync(s.part, { force: true });
      throw badRequest(
        `Provided checksum ${sent.crc32c ? `crc32c=${sent.crc32c}` : `md5=${sent.md5}`} does not match the data ` +
          `(crc32c=${hashes.crc32c}, md5=${hashes.md5Hash}).`,
      );
    }
    s.object = this.store.commit(
      s.bucket,
      s.name,
      s.part,
      { size: s.received, contentType: s.contentType, metadata: s.metadata, ...hashes },
      s.ifGenerationMatch,
    );
    s.state = 'final';
  }

  private answer(res: ServerResponse, s: Session, origin: string): void {
    if (s.state === 'final' && s.object) {
      const text = JSON.stringify(this.store.toResource(s.object, origin));
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const headers: Record<string, string | number> = { 'content-length': 0, 'x-guploader-uploadid': s.id };
    if (s.received > 0) headers.range = `bytes=0-${s.received - 1}`;
    res.writeHead(308, headers);
    res.end();
  }
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads and drops a body the answer does not need. */
export async function drain(req: IncomingMessage): Promise<void> {
  for await (const chunk of req as AsyncIterable<Buffer>) void chunk;
}
