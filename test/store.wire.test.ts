/** store: false / --no-store: every request on the wire says "store": false, in files and inline bodies alike. */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { checkStoreOption, geminiBatch } from '../src/index.js';
import { withStoreFalse } from '../src/internal/wire/store-field.js';
import { cliEnv, runCli, tempDir } from './cli.helpers.js';

let emu: RunningEmulator;
let proxy: Server;
let proxyUrl: string;
let dir: string;
/** Bodies of the POSTs that went through, by path. */
let seen: { path: string; body: Buffer }[] = [];

beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 10, runningMs: 20, apiKey: 'k' });
  dir = tempDir('gb-store-');
  const target = new URL(emu.url);
  // A recording pass-through on loopback: what the library really sends.
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST') seen.push({ path: req.url ?? '', body });
      const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.end(body);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const a = proxy.address() as { port: number };
  proxyUrl = `http://127.0.0.1:${a.port}`;
});
beforeEach(() => {
  seen = [];
});
afterAll(async () => {
  await new Promise((r) => proxy.close(r));
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const records = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `k${i}`, request: i % 3 === 0 ? { contents: [{ parts: [{ text: `p${i}` }] }], store: true } : { contents: [{ parts: [{ text: `p${i}` }] }] } }));

async function run(mode: 'inline' | 'file', store?: boolean): Promise<unknown[]> {
  const out: unknown[] = [];
  await pipeline(
    Readable.from(records(9)),
    geminiBatch({ model: 'gemini-2.5-flash', mode, baseUrl: proxyUrl, apiKey: 'k', tmpDir: dir, pollInterval: { initialMs: 20, maxMs: 100 }, ...(store !== undefined ? { store } : {}) }),
    new Writable({ objectMode: true, write: (r, _e, cb) => (out.push(r), cb()) }),
  );
  return out;
}

/** The requests as sent: the inline create body's, or the uploaded file's lines. */
function sentRequests(): Record<string, unknown>[] {
  const create = seen.find((s) => s.path.includes(':batchGenerateContent'))!;
  const body = JSON.parse(create.body.toString()) as { batch: { inputConfig: { requests?: { requests: { request: Record<string, unknown> }[] } } } };
  const inline = body.batch.inputConfig.requests?.requests;
  if (inline) return inline.map((r) => r.request);
  const upload = seen.filter((s) => s.path.includes('upload_id') && s.body.length > 0).map((s) => s.body.toString()).join('');
  return upload.trim().split('\n').map((l) => (JSON.parse(l) as { request: Record<string, unknown> }).request);
}

describe('store: false', () => {
  it.each(['inline', 'file'] as const)('%s: every request says "store": false, except one that says its own; answers come back', async (mode) => {
    const out = await run(mode, false);
    expect(out).toHaveLength(9);
    expect(out.every((r) => (r as { response?: unknown }).response !== undefined)).toBe(true);
    const sent = sentRequests();
    expect(sent).toHaveLength(9);
    sent.forEach((r, i) => expect(r.store, `request ${i}`).toBe(i % 3 === 0 ? true : false));
  });

  it('without the option nothing is added', async () => {
    await run('inline');
    expect(sentRequests().filter((r) => 'store' in r)).toHaveLength(3);
  });

  it('--no-store on the CLI', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, `${JSON.stringify({ key: 'a', request: { contents: [{ parts: [{ text: 'hi' }] }] } })}\n`);
    const r = await runCli(['run', file, '-m', 'gemini-2.5-flash', '-o', join(dir, 'out.jsonl'), '--no-store', '--poll-interval', '20'], {
      env: cliEnv({ GOOGLE_GEMINI_BASE_URL: proxyUrl, GEMINI_API_KEY: 'k' }),
    });
    expect(r.code).toBe(0);
    expect(sentRequests()).toEqual([{ store: false, contents: [{ parts: [{ text: 'hi' }] }] }]);
  });

  it('the byte edit keeps the line valid JSON, whatever the request looks like', () => {
    const l = (s: string) => withStoreFalse(Buffer.from(s)).toString();
    expect(JSON.parse(l('{"key":"0:a","request":{}}'))).toEqual({ key: '0:a', request: { store: false } });
    expect(JSON.parse(l('{"request": { "contents":[{"parts":[{"text":"\\"store\\": true"}]}]}, "key":"0:a"}')).request.store).toBe(false);
    expect(l('{"key":"0:a","request":{"store":true}}')).toBe('{"key":"0:a","request":{"store":true}}');
  });

  it('a backend that refuses the field refuses the option, in one sentence', () => {
    expect(() => checkStoreOption('vertex', false)).toThrow(/^store is a Gemini Developer API option: the vertex backend refuses the "store" field/);
    expect(() => checkStoreOption('vertex', undefined)).not.toThrow();
    expect(() => checkStoreOption('gemini', false)).not.toThrow();
  });
});
