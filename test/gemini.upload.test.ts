/**
 * Resumable upload against a tiny fake of Google's X-Goog-Upload protocol
 * whose faults we control exactly (cut mid-piece, lost final answer). The
 * session URLs live on a second server: another origin, as in production.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import type { GeminiClient, UploadProgress } from '../src/backends/gemini/types.js';
import { sendJson, startServer, type TestServer } from './gemini.helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

interface Session {
  total: number;
  parts: Buffer[];
  received: number;
  final: boolean;
  displayName: string;
}

interface Faults {
  /** Cut the connection once, after this many body bytes of one piece request. */
  cutPieceAfter?: number;
  /** Finalize, then cut instead of answering the final piece. */
  loseFinalAnswer?: boolean;
}

class FakeUploadService {
  sessions = new Map<string, Session>();
  bodyBytes = 0;
  commands: string[] = [];
  faults: Faults = {};
  uploadOrigin = '';

  start = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = JSON.parse((await read(req)).toString()) as { file: { displayName: string } };
    expect(req.headers['x-goog-upload-protocol']).toBe('resumable');
    expect(req.headers['x-goog-upload-command']).toBe('start');
    expect(req.headers['x-goog-upload-header-content-type']).toBe('application/jsonl');
    const id = String(this.sessions.size + 1);
    this.sessions.set(id, { total: Number(req.headers['x-goog-upload-header-content-length']), parts: [], received: 0, final: false, displayName: body.file.displayName });
    res.writeHead(200, { 'x-goog-upload-url': `${this.uploadOrigin}/upload/v1beta/files?upload_id=${id}&upload_protocol=resumable`, 'x-goog-upload-status': 'active' });
    res.end();
  };

  piece = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const id = new URL(req.url ?? '', 'http://x').searchParams.get('upload_id') ?? '';
    const s = this.sessions.get(id);
    if (!s) return sendJson(res, 404, { error: { code: 404, message: 'no session', status: 'NOT_FOUND' } });
    const command = String(req.headers['x-goog-upload-command']);
    this.commands.push(command);
    if (command === 'query') {
      res.writeHead(200, { 'x-goog-upload-status': s.final ? 'final' : 'active', 'x-goog-upload-size-received': String(s.received) });
      return void res.end();
    }
    if (command === 'finalize' && s.final) return this.answerFinal(res, s);
    const offset = Number(req.headers['x-goog-upload-offset']);
    if (offset !== s.received) return sendJson(res, 400, { error: { code: 400, message: `offset ${offset} != ${s.received}`, status: 'INVALID_ARGUMENT' } });
    const cutAt = this.faults.cutPieceAfter;
    let got = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      let c = chunk;
      if (cutAt !== undefined && got + c.length > cutAt) {
        c = c.subarray(0, cutAt - got);
        s.parts.push(c);
        s.received += c.length;
        this.bodyBytes += c.length;
        this.faults.cutPieceAfter = undefined;
        req.socket.destroy();
        return;
      }
      got += c.length;
      s.parts.push(c);
      s.received += c.length;
      this.bodyBytes += c.length;
    }
    if (command.includes('finalize')) {
      expect(s.received).toBe(s.total);
      s.final = true;
      if (this.faults.loseFinalAnswer) {
        this.faults.loseFinalAnswer = false;
        req.socket.destroy();
        return;
      }
      return this.answerFinal(res, s);
    }
    res.writeHead(200, { 'x-goog-upload-status': 'active', 'x-goog-upload-size-received': String(s.received) });
    res.end();
  };

  private answerFinal(res: ServerResponse, s: Session): void {
    const data = Buffer.concat(s.parts);
    const file = { name: `files/f${this.sessions.size}`, displayName: s.displayName, sizeBytes: String(data.length), sha256Hash: createHash('sha256').update(data).digest('hex'), state: 'ACTIVE' };
    sendJson(res, 200, { file }, { 'x-goog-upload-status': 'final' });
  }
}

async function read(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('resumable upload', () => {
  let api: TestServer;
  let uploads: TestServer;
  let fake: FakeUploadService;
  let client: GeminiClient;
  let dir: string;

  beforeEach(async () => {
    fake = new FakeUploadService();
    api = await startServer((req, res) => fake.start(req, res));
    uploads = await startServer((req, res) => fake.piece(req, res));
    fake.uploadOrigin = uploads.url;
    client = createGeminiClient({ baseUrl: api.url, apiKey: 'k', retry: { initialDelayMs: 1, maxDelayMs: 5 } });
    dir = await mkdtemp(join(tmpdir(), 'api-upload-'));
  });
  afterEach(async () => {
    await client.close();
    await api.close();
    await uploads.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function fixture(size: number): Promise<{ path: string; data: Buffer }> {
    const data = randomBytes(size);
    const path = join(dir, `in-${size}.jsonl`);
    await writeFile(path, data);
    return { path, data };
  }

  it('sends pieces in order to a session on another origin, finalizes the last', async () => {
    const { path, data } = await fixture(3 * MiB + 1000);
    const events: string[] = [];
    const progress: UploadProgress[] = [];
    const file = await client.files.upload(path, {
      chunkSize: MiB,
      displayName: 'job-1',
      onUploadUrl: (u) => {
        events.push(`url:${new URL(u).origin}`);
      },
      onProgress: (p) => progress.push(p),
    });
    expect(file).toMatchObject({ name: 'files/f1', displayName: 'job-1', sizeBytes: String(data.length), sha256Hash: sha(data) });
    expect(events).toEqual([`url:${uploads.url}`]);
    expect(fake.commands).toEqual(['upload', 'upload', 'upload', 'upload, finalize']);
    expect(progress.map((p) => p.offset)).toEqual([MiB, 2 * MiB, 3 * MiB, data.length]);
    expect(uploads.seen.map((s) => s.headers['x-goog-upload-offset'])).toEqual(['0', String(MiB), String(2 * MiB), String(3 * MiB)]);
    expect(fake.bodyBytes).toBe(data.length);
  });

  it('after a cut mid-piece, queries and continues from the offset the service has', async () => {
    const { path, data } = await fixture(4 * MiB);
    fake.faults.cutPieceAfter = 300 * KiB; // in the first piece the server keeps 300 KiB
    let last: UploadProgress | undefined;
    const file = await client.files.upload(path, { chunkSize: MiB, onProgress: (p) => (last = p) });
    expect(file.sha256Hash).toBe(sha(data));
    expect(fake.commands).toContain('query');
    // Only the lost part of one piece travelled twice.
    expect(fake.bodyBytes).toBe(data.length);
    expect(last?.bytesSent).toBeLessThanOrEqual(data.length + MiB);
    const offsets = uploads.seen.filter((s) => s.headers['x-goog-upload-command'] !== 'query').map((s) => Number(s.headers['x-goog-upload-offset']));
    expect(offsets).toContain(300 * KiB);
    expect(offsets.filter((o) => o === 0).length).toBe(1);
  });

  it('resumes a session persisted earlier (uploadUrl): query first, no byte sent twice', async () => {
    const { path, data } = await fixture(3 * MiB);
    const ac = new AbortController();
    let saved = '';
    const first = client.files.upload(path, {
      chunkSize: MiB,
      signal: ac.signal,
      onUploadUrl: (u) => {
        saved = u;
      },
      onProgress: (p) => {
        if (p.offset >= MiB) ac.abort(new Error('simulated crash'));
      },
    });
    await expect(first).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    const sentBefore = fake.bodyBytes;
    expect(sentBefore).toBeGreaterThanOrEqual(MiB);
    expect(await client.files.queryUpload(saved)).toEqual({ status: 'active', received: sentBefore });
    const file = await client.files.upload(path, { chunkSize: MiB, uploadUrl: saved });
    expect(file.sha256Hash).toBe(sha(data));
    expect(fake.bodyBytes).toBe(data.length);
    expect(fake.sessions.size).toBe(1);
  });

  it('a lost final answer is recovered: query says final, finalize again returns the file', async () => {
    const { path, data } = await fixture(MiB + 5);
    fake.faults.loseFinalAnswer = true;
    const file = await client.files.upload(path, { chunkSize: MiB });
    expect(file.sha256Hash).toBe(sha(data));
    expect(fake.commands.slice(-3)).toEqual(['upload, finalize', 'query', 'finalize']);
  });

  it('a zero-byte file is one empty finalize', async () => {
    const { path } = await fixture(0);
    const file = await client.files.upload(path);
    expect(file.sizeBytes).toBe('0');
    expect(fake.commands).toEqual(['upload, finalize']);
    expect(uploads.seen[0]?.headers['content-length']).toBe('0');
  });

  it('rejects a chunk size that is not a multiple of 256 KiB before any request', async () => {
    const { path } = await fixture(10);
    await expect(client.files.upload(path, { chunkSize: 1000 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    await expect(client.files.upload(path, { chunkSize: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect(api.seen.length).toBe(0);
  });
});
