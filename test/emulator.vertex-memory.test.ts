/**
 * Flat memory on the Vertex side: a job of 100,000 requests (half the
 * per-job limit, ~30 MB in, ~60 MB out) uploaded, run and downloaded through an emulator in its own
 * process; its peak RSS (sampled by the emulator) stays far below the data.
 */
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, spawnEmulator } from './emulator.helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'emu-vmem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a large Vertex job', () => {
  it('runs in bounded memory, input and output streamed through disk', async () => {
    const N = 100_000;
    const path = join(dir, 'in.jsonl');
    const parts: string[] = [];
    for (let i = 0; i < N; i++) {
      parts.push(JSON.stringify({ key: `k${i}`, request: { contents: [{ role: 'user', parts: [{ text: `prompt ${i} ${'x'.repeat(240)}` }] }], labels: { gbs_seq: String(i) } } }));
    }
    writeFileSync(path, parts.join('\n') + '\n');
    parts.length = 0;
    const size = statSync(path).size;
    const { url, child } = await spawnEmulator(['--pending-ms', '0', '--running-ms', '0', '--vertex-queue-ms', '0', '--vertex-output-info-hidden-polls', '0']);
    try {
      const up = await call('POST', `${url}/upload/storage/v1/b/b/o?uploadType=media&name=in.jsonl`, {
        body: createReadStream(path, { highWaterMark: 1 << 20 }),
        headers: { 'content-length': String(size) },
      });
      expect(up.status).toBe(200);
      const body = JSON.stringify({
        displayName: 'big',
        model: 'publishers/google/models/gemini-2.5-flash',
        inputConfig: { instancesFormat: 'jsonl', gcsSource: { uris: ['gs://b/in.jsonl'] } },
        outputConfig: { predictionsFormat: 'jsonl', gcsDestination: { outputUriPrefix: 'gs://b/out' } },
      });
      const auth = { authorization: 'Bearer t' };
      const name = String((await call('POST', `${url}/v1/projects/p/locations/l/batchPredictionJobs`, { body, headers: auth })).json().name);
      let j: Record<string, unknown>;
      do {
        await new Promise((r) => setTimeout(r, 200));
        j = (await call('GET', `${url}/v1/${name}`, { headers: auth })).json();
      } while (!/SUCCEEDED|FAILED/.test(String(j.state)));
      expect(j).toMatchObject({ state: 'JOB_STATE_SUCCEEDED', completionStats: { successfulCount: String(N) } });
      const out = (j.outputInfo as { gcsOutputDirectory: string }).gcsOutputDirectory.replace('gs://b/', '');
      const meta = (await call('GET', `${url}/storage/v1/b/b/o/${encodeURIComponent(`${out}/predictions.jsonl`)}`)).json();
      expect(Number(meta.size)).toBeGreaterThan(size);
      const counters = (await call('GET', `${url}/_emulator/counters`)).json();
      console.log(`peak RSS ${Math.round(Number(counters.maxRssBytes) / 1048576)} MB`);
      // The emulator process alone: ~100 MB at rest under tsx; the data would add its 90 MB if held.
      expect(counters.maxRssBytes).toBeLessThan(200 * 1024 * 1024);
    } finally {
      child.kill('SIGTERM');
    }
  }, 240_000);
});
