/**
 * Files API rules from the real service: downloads by the SDKs' path, and
 * never a get or delete on an id over 40 chars (a batch output file), which
 * the service refuses with a 400.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiClient } from '../src/backends/gemini/client.js';
import { UnaddressableFileError } from '../src/backends/gemini/files.js';
import { canGetOrDeleteFile } from '../src/backends/gemini/names.js';
import type { GeminiClient } from '../src/backends/gemini/types.js';
import { apiError, sendJson, startServer, type TestServer } from './gemini.helpers.js';

const BATCH_ID = 'a'.repeat(36);
const OUTPUT = `files/batch-${BATCH_ID}`; // 42 chars of id

describe('files: service-generated output files', () => {
  let server: TestServer | undefined;
  let client: GeminiClient | undefined;
  afterEach(async () => {
    await client?.close();
    await server?.close();
    client = undefined;
    server = undefined;
  });

  async function serve(): Promise<GeminiClient> {
    server = await startServer((req, res) => {
      const id = /^\/v1beta\/files\/([^/:?]+)/.exec(req.url ?? '')?.[1] ?? '';
      // The real service's answer to get/delete on a long id.
      if (!req.url?.includes(':download') && id.length > 40) return apiError(res, 400, 'INVALID_ARGUMENT', `File ID ${id} cannot be more than 40 characters`);
      if (req.url?.endsWith(':download?alt=media')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return void res.end(`{"response":{},"key":"${id}"}\n`);
      }
      if (req.method === 'DELETE') return sendJson(res, 200, {});
      sendJson(res, 200, { name: `files/${id}` });
    });
    client = createGeminiClient({ baseUrl: server.url, apiKey: 'k', retry: { maxAttempts: 1 } });
    return client;
  }

  it('the predicate: ids up to 40 chars are addressable, batch output ids are not', () => {
    expect(canGetOrDeleteFile(OUTPUT)).toBe(false);
    expect(canGetOrDeleteFile(`batch-${BATCH_ID}`)).toBe(false);
    expect(canGetOrDeleteFile(`files/${'x'.repeat(40)}`)).toBe(true);
    expect(canGetOrDeleteFile('files/t5snrshrqff1')).toBe(true);
  });

  it('downloads by GET /v1beta/files/{id}:download?alt=media', async () => {
    const c = await serve();
    const dir = await mkdtemp(join(tmpdir(), 'api-files-'));
    try {
      await c.files.downloadToFile(OUTPUT, join(dir, 'out.jsonl'));
      expect(await readFile(join(dir, 'out.jsonl'), 'utf8')).toBe(`{"response":{},"key":"batch-${BATCH_ID}"}\n`);
      const chunks: Buffer[] = [];
      for await (const b of await c.files.download(OUTPUT)) chunks.push(b as Buffer);
      expect(Buffer.concat(chunks).toString()).toContain(BATCH_ID);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(server?.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      `GET /v1beta/files/batch-${BATCH_ID}:download?alt=media`,
      `GET /v1beta/files/batch-${BATCH_ID}:download?alt=media`,
    ]);
  });

  it('get refuses a long id locally with a typed error; delete skips it (false); neither sends a request', async () => {
    const c = await serve();
    const err = await c.files.get(OUTPUT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnaddressableFileError);
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', fileName: OUTPUT });
    expect((err as Error).message).toMatch(/over 40 characters.*download it instead.*48 h/);
    await expect(c.files.delete(OUTPUT)).resolves.toBe(false);
    expect(server?.seen).toEqual([]);
  });

  it('a 40-char id is still fetched and deleted', async () => {
    const c = await serve();
    const name = `files/${'x'.repeat(40)}`;
    await expect(c.files.get(name)).resolves.toMatchObject({ name });
    await expect(c.files.delete(name)).resolves.toBe(true);
    expect(server?.seen.map((s) => s.method)).toEqual(['GET', 'DELETE']);
  });
});
