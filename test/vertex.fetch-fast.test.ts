/**
 * The Vertex fetch's fast paths, each against what it replaced:
 * - rows read on their bytes (row-scan.ts) give the same canonical lines as
 *   a parse would, whatever the member order, spacing or escapes; rows the
 *   walk does not take (escaped key, a key of another shape, odd members)
 *   are still decided by the parse; the answer's bytes are passed on as the
 *   service wrote them;
 * - the reorder window writes shuffled lines in spool order, never holds
 *   more than its bound, and restarts its order per object;
 * - the results file comes out in spool order from shuffled objects (the
 *   final predictions file first, then the rows only an incremental file holds);
 * - a download is checked by the MD5 when the object has no CRC32C;
 * - the spool index holds keys up to its bound and reads the rest from disk.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenSource } from '../src/backends/vertex/auth.js';
import { Gcs } from '../src/backends/vertex/gcs.js';
import { VertexHttp } from '../src/backends/vertex/http.js';
import { fetchVertexResults } from '../src/backends/vertex/output.js';
import { ReorderWindow } from '../src/backends/vertex/reorder.js';
import { labelSeqAt, RowScratch, scanRow, wireKeySeqAt } from '../src/backends/vertex/row-scan.js';
import { SpoolIndex } from '../src/backends/vertex/spool-index.js';
import type { BatchJob } from '../src/backend/types.js';

let dir: string;
let server: Server | undefined;
let http: VertexHttp;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gb-vertex-fast-'));
  http = new VertexHttp(tokenSource(() => 'a-test-token'), { initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 2 });
});
afterEach(async () => {
  await http.close();
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');

/** A bucket of output objects served over loopback; `meta` is what the listing says of each. */
async function serve(
  objects: Record<string, Buffer>,
  meta: (name: string, body: Buffer) => Record<string, string> = () => ({}),
  opts: { corruptFirstRead?: boolean } = {},
): Promise<{ gcs: Gcs; gets: () => number }> {
  let gets = 0;
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.searchParams.get('alt') === 'media') {
      gets++;
      const name = decodeURIComponent(url.pathname.split('/o/')[1]!);
      const body = Buffer.from(objects[name]!);
      if (opts.corruptFirstRead && gets === 1) body[body.length - 4] = 0x41; // one byte flipped on the way
      res.writeHead(200, { 'content-length': String(body.length) }).end(body);
      return;
    }
    const items = Object.entries(objects).map(([name, body]) => ({ name, size: String(body.length), ...meta(name, body) }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { gcs: new Gcs(http, `http://127.0.0.1:${(server.address() as AddressInfo).port}`), gets: () => gets };
}

const job = { name: 'j', state: 'SUCCEEDED', done: true, hasOutput: true, raw: { outputInfo: { gcsOutputDirectory: 'gs://bkt/out/dir' } } } as BatchJob;

function spool(keys: string[]): string {
  const path = join(dir, 'spool.jsonl');
  writeFileSync(path, keys.map((k, i) => `{"key":${JSON.stringify(`${i}:${k}`)},"request":{"contents":[],"labels":{"gbs_seq":"${i}"}}}\n`).join(''));
  return path;
}

async function fetchLines(gcs: Gcs, spoolPath: string): Promise<{ lines: string[]; detail: string | undefined }> {
  const resultsPath = join(dir, 'results.jsonl');
  rmSync(resultsPath, { force: true });
  const f = await fetchVertexResults(gcs, job, { resultsPath, spoolPath, scratchPath: join(dir, 'scratch') });
  return { lines: readFileSync(resultsPath, 'utf8').split('\n').filter(Boolean), detail: f.detail };
}

describe('rows read on their bytes', () => {
  it('finds the members in any order, with spaces, escapes and braces inside strings', () => {
    const row = Buffer.from(' { "response" : {"text":"a } \\" {"} , "request":{"contents":[{"parts":[{"text":"x\\"}]"}]}],"labels" : {"gbs_seq" : "42"}},"status":"","key":"7:k"} ');
    const s = scanRow(row)!;
    expect(JSON.parse(row.toString('utf8', s.response.start, s.response.end))).toEqual({ text: 'a } " {' });
    expect(labelSeqAt(row, s.labels)).toBe(42);
    expect(wireKeySeqAt(row, s.key)).toBe(7);
    expect(row.toString('utf8', s.status.start, s.status.end)).toBe('""');
  });

  it('leaves to the parse what it does not walk, and reads no label that is not one', () => {
    expect(scanRow(Buffer.from('{"response":{"a":1}'))).toBeUndefined(); // cut
    expect(scanRow(Buffer.from('[1,2]'))).toBeUndefined();
    expect(scanRow(Buffer.from('{"res\\u0070onse":{}}'))).toBeUndefined(); // an escaped name
    const s = scanRow(Buffer.from('{"request":{"labels":{"gbs_seq":"12a"}},"key":"x:1"}'))!;
    expect(labelSeqAt(Buffer.from('{"request":{"labels":{"gbs_seq":"12a"}},"key":"x:1"}'), s.labels)).toBeUndefined();
    expect(wireKeySeqAt(Buffer.from('{"request":{"labels":{"gbs_seq":"12a"}},"key":"x:1"}'), s.key)).toBeUndefined();
    // A row inside a larger buffer (a download chunk) is read between its bounds, with spans into the buffer.
    const chunk = Buffer.from('{"x":1}\n {"request":{"labels":{"gbs_seq":"9"}},"response":{"t":1}} \n{"y":2}');
    const start = chunk.indexOf('\n') + 1;
    const end = chunk.lastIndexOf('\n');
    const inner = scanRow(chunk, start, end)!;
    expect(labelSeqAt(chunk, inner.labels)).toBe(9);
    expect(chunk.toString('utf8', inner.response.start, inner.response.end)).toBe('{"t":1}');
    expect(scanRow(chunk, start, end - 3)).toBeUndefined(); // cut short of its closing brace
    expect(scanRow(chunk, start, start + 1)).toBeUndefined(); // a blank
    // One scratch reused row after row: nothing of a row is left in the next one's shape.
    const scratch = new RowScratch();
    const full = Buffer.from('{"key":"3:k","status":"","request":{"labels":{"gbs_seq":"3"}},"response":{}}');
    expect(labelSeqAt(full, scanRow(full, 0, full.length, scratch)!.labels, scratch.seq)).toBe(3);
    const bare = Buffer.from('{"response":{"a":1}}');
    const b = scanRow(bare, 0, bare.length, scratch)!;
    expect([b.key.start, b.status.start, b.request.start, b.labels.start]).toEqual([-1, -1, -1, -1]);
    expect(bare.toString('utf8', b.response.start, b.response.end)).toBe('{"a":1}');
    // A repeated request counts by its last value, as JSON.parse keeps it: no label from the first.
    const twice = Buffer.from('{"request":{"labels":{"gbs_seq":"5"}},"request":{"contents":[]},"response":{}}');
    expect(labelSeqAt(twice, scanRow(twice)!.labels)).toBeUndefined();
    // A request the walk cannot read (an escaped member name) is skipped whole; the row still scans.
    const escaped = Buffer.from('{"request":{"la\\u0062els":{"gbs_seq":"5"}},"response":{"a":1}}');
    const e = scanRow(escaped)!;
    expect(e.labels.start).toBe(-1);
    expect(escaped.toString('utf8', e.response.start, e.response.end)).toBe('{"a":1}');
  });

  it('gives the lines a parse gives: by key, by label, escaped keys, failed rows, repeats, rows without a key dropped', async () => {
    const rows = [
      `{"status":"","request":{"labels":{"gbs_seq":"0"}},"response":{"text":"zero", "n" : 1}}`, // by label, answer bytes as written
      `{"key":"1:b","status":"","request":{},"response":{"text":"one"}}`, // by key
      `{"key":"2:\\u0063","status":"","request":{"labels":{"gbs_seq":"2"}},"response":{"text":"two"}}`, // escaped key: parsed
      `{"status":"Bad Request: {\\"error\\": {\\"code\\": 400, \\"message\\": \\"no\\", \\"status\\": \\"INVALID_ARGUMENT\\"}}","request":{"labels":{"gbs_seq":"3"}}}`,
      `{"status":"","request":{"labels":{"gbs_seq":"1"}},"response":{"text":"one again"}}`, // a repeat
      `{"status":"","request":{},"response":{"text":"whose?"}}`, // no key, no label: dropped
      `{"status":"","request":{"labels":{"gbs_seq":"4"}},"response":null}`, // no answer: dropped
    ].join('\n');
    const { gcs } = await serve({ 'out/dir/predictions.jsonl': Buffer.from(rows) });
    const { lines, detail } = await fetchLines(gcs, spool(['a', 'b', 'c', 'd', 'e']));
    expect(lines).toEqual([
      '{"key":"0:a","response":{"text":"zero", "n" : 1}}',
      '{"key":"1:b","response":{"text":"one"}}',
      '{"key":"2:c","response":{"text":"two"}}',
      '{"key":"3:d","error":{"code":400,"message":"Bad Request: {\\"error\\": {\\"code\\": 400, \\"message\\": \\"no\\", \\"status\\": \\"INVALID_ARGUMENT\\"}}","status":"INVALID_ARGUMENT"}}',
    ]);
    expect(detail).toMatch(/1 repeated rows ignored; 2 rows without a readable key dropped/);
  });
});

describe('the results file in spool order', () => {
  it('a shuffled predictions file and an incremental one come out as two ordered runs', async () => {
    const n = 300;
    const row = (i: number) => JSON.stringify({ status: '', processed_time: 't', request: { contents: [], labels: { gbs_seq: String(i) } }, response: { text: `answer ${i}` } });
    // Every tenth row in the incremental file, half of those only there; the rest shuffled in windows of 40.
    const inc = Array.from({ length: n }, (_, i) => i).filter((i) => i % 10 === 0);
    const onlyInc = new Set(inc.filter((i) => i % 20 === 0));
    const pred = Array.from({ length: n }, (_, i) => i).filter((i) => !onlyInc.has(i));
    for (let w = 0; w < pred.length; w += 40) pred.splice(w, 40, ...pred.slice(w, w + 40).reverse());
    const { gcs } = await serve({
      'out/dir/incremental_predictions-1.jsonl': Buffer.from(inc.reverse().map(row).join('\n') + '\n'),
      'out/dir/predictions.jsonl': Buffer.from(pred.map(row).join('\n') + '\n'),
    });
    const { lines } = await fetchLines(gcs, spool(Array.from({ length: n }, (_, i) => `k${i}`)));
    const seqs = lines.map((l) => Number(/"key":"(\d+):/.exec(l)![1]));
    const notOnlyInc = Array.from({ length: n }, (_, i) => i).filter((i) => !onlyInc.has(i));
    expect(seqs).toEqual([...notOnlyInc, ...[...onlyInc].sort((a, b) => a - b)]);
  });

  it('the window writes in order, holds at most its bound, and rolls back', () => {
    const out: number[] = [];
    const sink = { put: (line: Buffer) => void out.push(Number(line.toString())) };
    const w = new ReorderWindow(10, sink, 3);
    for (const p of [1, 2, 0, 4, 3]) w.add(p, Buffer.from(String(p)));
    expect(out).toEqual([0, 1, 2, 3, 4]);
    // A bound of 3 bytes: 9, 8, 7 wait; 6 makes 4, so the lowest (6) goes, the order moves past 5, and 7-9 follow.
    for (const p of [9, 8, 7]) w.add(p, Buffer.from(String(p)));
    expect(out).toEqual([0, 1, 2, 3, 4]);
    w.add(6, Buffer.from('6'));
    expect(out).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9]);
    w.add(5, Buffer.from('5')); // behind the order: written at once
    expect(out.at(-1)).toBe(5);

    // Two lines for one waiting position (an error, then the success the demuxer prefers): both are written.
    const both: string[] = [];
    const w3 = new ReorderWindow(4, { put: (line: Buffer) => void both.push(line.toString()) }, 100);
    w3.add(2, Buffer.from('2:error'));
    w3.add(2, Buffer.from('2:ok'));
    w3.add(0, Buffer.from('0'));
    w3.add(1, Buffer.from('1'));
    expect(both).toEqual(['2:ok', '0', '1', '2:error']);
    // A line far ahead of the order (past the ring of waiting slots) is written at once.
    const far: number[] = [];
    const w4 = new ReorderWindow(70_000, { put: (line: Buffer) => void far.push(Number(line.toString())) }, 1 << 20);
    w4.add(69_999, Buffer.from('69999'));
    w4.add(1, Buffer.from('1'));
    w4.add(0, Buffer.from('0'));
    expect(far).toEqual([69_999, 0, 1]);

    // Lines shuffled within a pool, as the emulator writes them, past the slab's first megabyte: every line comes out
    // once with its own bytes (through compactions and growth), and in order when the window holds them all.
    for (const [bound, sorted] of [[8 << 20, true], [256 << 10, false]] as const) {
      const n = 20_000;
      const got: string[] = [];
      const wn = new ReorderWindow(n, { put: (line: Buffer) => void got.push(line.toString()) }, bound);
      const pool: number[] = [];
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const text = (p: number) => `${p}:${'x'.repeat(200 + (p % 300))}`;
      for (let p = 0; p < n; p++) {
        pool.push(p);
        if (pool.length > 3000) wn.add(...take(pool, rnd, text));
      }
      while (pool.length) wn.add(...take(pool, rnd, text));
      wn.flush();
      expect(got.length).toBe(n);
      expect(new Set(got.map((l) => l.split(':')[0])).size).toBe(n);
      for (const l of got) expect(l).toBe(text(Number(l.split(':')[0])));
      const order = got.map((l) => Number(l.split(':')[0]));
      expect(order.every((p, i) => i === 0 || p > order[i - 1]!)).toBe(sorted);
    }

    const again: number[] = [];
    const w2 = new ReorderWindow(3, { put: (line: Buffer) => void again.push(Number(line.toString())) }, 100);
    const saved = w2.snapshot();
    w2.add(2, Buffer.from('2'));
    w2.add(1, Buffer.from('1'));
    w2.restore(saved); // a corrupt read taken back: what waited is gone
    w2.add(0, Buffer.from('0'));
    w2.flush();
    expect(again).toEqual([0]);
  });
});

/** A random member of the pool, taken out: its position and line. */
function take(pool: number[], rnd: () => number, text: (p: number) => string): [number, Buffer] {
  const i = Math.floor(rnd() * pool.length);
  const p = pool[i]!;
  pool[i] = pool[pool.length - 1]!;
  pool.pop();
  return [p, Buffer.from(text(p))];
}

describe('checksums and keys', () => {
  it('an object with only an MD5 is checked by it: a flipped byte is read again', async () => {
    const good = Buffer.from(`{"status":"","request":{"labels":{"gbs_seq":"0"}},"response":{"text":"fine"}}\n`);
    const { gcs, gets } = await serve({ 'out/dir/predictions.jsonl': good }, (_n, body) => ({ md5Hash: md5(body) }), { corruptFirstRead: true });
    const { lines } = await fetchLines(gcs, spool(['a']));
    expect(gets()).toBe(2); // the corrupt read, then a good one
    expect(lines).toEqual(['{"key":"0:a","response":{"text":"fine"}}']);
  });

  it('keys past the held bound are read from the spool on disk', async () => {
    const long = (i: number) => `${String(i).padStart(5, '0')}${'é'.repeat(2_000)}`; // ~4 KB each: 2,200 of them pass 8 MiB
    const keys = Array.from({ length: 2_200 }, (_, i) => long(i));
    const path = spool(keys);
    const index = await SpoolIndex.build(path);
    try {
      for (const i of [0, 1_000, 2_150, 2_199]) expect(JSON.parse(index.keyJson(i)!.toString('utf8'))).toBe(`${i}:${keys[i]}`);
    } finally {
      index.close();
    }
  });
});
