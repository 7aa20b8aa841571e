/**
 * Cloud Storage as the Vertex backend uses it, over loopback HTTP: a
 * resumable upload cut after its first piece continues in a later call from
 * the journaled session at the service's offset (one session, the object
 * whole); a re-upload meets ifGenerationMatch=0 and takes the object when it
 * holds our bytes, refuses it otherwise; a download whose bytes do not match
 * the object's crc32c is read again and its rows are written once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenSource } from '../src/backends/vertex/auth.js';
import { Gcs, PIECE_BYTES } from '../src/backends/vertex/gcs.js';
import { VertexHttp } from '../src/backends/vertex/http.js';
import { fetchVertexResults } from '../src/backends/vertex/output.js';
import type { BatchJob } from '../src/backend/types.js';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';

let dir: string;
let emu: RunningEmulator | undefined;
let server: Server | undefined;
let http: VertexHttp;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gb-vertex-gcs-'));
  http = new VertexHttp(tokenSource(() => 'a-test-token'), { initialDelayMs: 1, maxDelayMs: 5 });
});
afterEach(async () => {
  await http.close();
  await emu?.close();
  emu = undefined;
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const crc = (b: Buffer) => {
  const be = Buffer.alloc(4);
  be.writeUInt32BE(crc32c(b) >>> 0);
  return be.toString('base64');
};

describe('uploads', () => {
  it('a cut upload continues from the journaled session at the service offset, in the same session', async () => {
    emu = await startEmulator({ port: 0 });
    const gcs = new Gcs(http, emu.url);
    const path = join(dir, 'spool.jsonl');
    const bytes = randomBytes(PIECE_BYTES + 300_000);
    writeFileSync(path, bytes);
    const ac = new AbortController();
    let session: string | undefined;
    const first = gcs.upload(path, 'bkt', 'runs/r1/0.jsonl', {
      signal: ac.signal,
      onUploadUrl: (u) => void (session = u),
      onBytes: () => ac.abort(), // the process dies once the first piece is acknowledged
    });
    await expect(first).rejects.toThrow();
    expect(session).toBeDefined();
    let counted = 0;
    const obj = await gcs.upload(path, 'bkt', 'runs/r1/0.jsonl', { uploadUrl: session!, onBytes: (n) => (counted += n), onUploadUrl: () => expect.fail('a new session') });
    expect(obj.size).toBe(bytes.length);
    expect(counted).toBe(bytes.length - PIECE_BYTES);
    expect(obj.md5Hash).toBe(md5(bytes));
    const got: Buffer[] = [];
    await gcs.download(obj, (c) => void got.push(Buffer.from(c)));
    expect(Buffer.concat(got).equals(bytes)).toBe(true);
  });

  it('a re-upload of the same bytes takes the object there (create-only), other bytes are refused', async () => {
    emu = await startEmulator({ port: 0 });
    const gcs = new Gcs(http, emu.url);
    const path = join(dir, 'a.jsonl');
    writeFileSync(path, '{"key":"0:a"}\n');
    const made = await gcs.upload(path, 'bkt', 'runs/r1/1.jsonl', {});
    const again = await gcs.upload(path, 'bkt', 'runs/r1/1.jsonl', {});
    expect(again.generation).toBe(made.generation);
    writeFileSync(path, '{"key":"0:b"}\n');
    await expect(gcs.upload(path, 'bkt', 'runs/r1/1.jsonl', {})).rejects.toThrow(/already exists with other content/);
  });
});

describe('verified downloads', () => {
  it('rows that arrive a few bytes at a time, a long answer among them, come out whole', async () => {
    const long = 'x'.repeat(200_000);
    const rows = [0, 1, 2].map((i) => JSON.stringify({ status: '', request: { labels: { gbs_seq: String(i) } }, response: { text: i === 1 ? long : `answer ${i}` } })).join('\n');
    const good = Buffer.from(rows); // no final newline: the last row ends with the object
    server = createServer((req, res) => {
      if (new URL(req.url!, 'http://x').searchParams.get('alt') !== 'media') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [{ name: 'o/d/predictions.jsonl', size: String(good.length), crc32c: crc(good) }] }));
        return;
      }
      res.writeHead(200, { 'content-length': String(good.length) });
      let at = 0;
      const next = () => {
        if (at >= good.length) return void res.end();
        const n = at < 300 ? 3 : 65_536;
        res.write(good.subarray(at, at + n));
        at += n;
        setImmediate(next);
      };
      next();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const gcs = new Gcs(http, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const spoolPath = join(dir, 'spool.jsonl');
    writeFileSync(spoolPath, ['0:a', '1:b', '2:c'].map((k) => `{"key":"${k}","request":{}}\n`).join(''));
    const resultsPath = join(dir, 'results.jsonl');
    const job = { name: 'j', state: 'SUCCEEDED', done: true, hasOutput: true, raw: { outputInfo: { gcsOutputDirectory: 'gs://bkt/o/d/' } } } as BatchJob;
    await fetchVertexResults(gcs, job, { resultsPath, spoolPath, scratchPath: join(dir, 'scratch') });
    const lines = readFileSync(resultsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; response: { text: string } });
    expect(lines.map((l) => [l.key, l.response.text.length])).toEqual([['0:a', 8], ['1:b', 200_000], ['2:c', 8]]);
  });

  it('bytes that do not match the crc32c are read again, and each row is written once', async () => {
    const rows = [0, 1, 2].map((i) => JSON.stringify({ status: '', request: { contents: [], labels: { gbs_seq: String(i) } }, response: { text: `answer ${i}` } })).join('\n') + '\n';
    const good = Buffer.from(rows);
    let gets = 0;
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.searchParams.get('alt') === 'media') {
        gets++;
        const body = Buffer.from(good);
        if (gets === 1) body[body.length - 5] = 0x41; // one byte flipped on the way, the first time only
        res.writeHead(200, { 'content-length': String(body.length) }).end(body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ items: [{ name: 'out/dir/predictions.jsonl', size: String(good.length), generation: '7', crc32c: crc(good), md5Hash: md5(good) }] }),
      );
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const gcs = new Gcs(http, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const spoolPath = join(dir, 'spool.jsonl');
    writeFileSync(spoolPath, ['0:a', '1:b', '2:c'].map((k, i) => `{"key":"${k}","request":{"contents":[],"labels":{"gbs_seq":"${i}"}}}\n`).join(''));
    const resultsPath = join(dir, 'results.jsonl');
    const job = { name: 'j', state: 'SUCCEEDED', done: true, hasOutput: true, raw: { outputInfo: { gcsOutputDirectory: 'gs://bkt/out/dir' } } } as BatchJob;
    const fetched = await fetchVertexResults(gcs, job, { resultsPath, spoolPath, scratchPath: join(dir, 'scratch') });
    expect(gets).toBe(2);
    const lines = readFileSync(resultsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; response: { text: string } });
    expect(lines).toEqual([
      { key: '0:a', response: { text: 'answer 0' } },
      { key: '1:b', response: { text: 'answer 1' } },
      { key: '2:c', response: { text: 'answer 2' } },
    ]);
    expect(fetched.remote).toEqual(['gs://bkt/out/dir/predictions.jsonl']);
  });
});
