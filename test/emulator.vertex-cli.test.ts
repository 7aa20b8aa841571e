/**
 * The Vertex and Cloud Storage knobs as `gemini-batch emulator` flags, in a
 * real child process, and as checked startEmulator options.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions } from '../src/emulator/index.js';
import { call, spawnEmulator } from './emulator.helpers.js';

const AUTH = { authorization: 'Bearer t' };

describe('Vertex knobs', () => {
  it('refuses bad values, naming the option', () => {
    expect(() => startEmulator({ vertexCutoffRows: -1 })).toThrow(/vertexCutoffRows/);
    expect(() => startEmulator({ vertexMaxJobBytes: 0 })).toThrow(/vertexMaxJobBytes/);
    expect(() => startEmulator({ vertexEchoTopLevelFields: 'yes' } as unknown as EmulatorOptions)).toThrow(/vertexEchoTopLevelFields/);
  });

  it('come from CLI flags: 401 once, the cut-off after 2 rows, the key echoed', async () => {
    const { url, child } = await spawnEmulator([
      '--pending-ms', '0', '--running-ms', '0', '--vertex-queue-ms', '0',
      '--vertex-cutoff-rows', '2', '--vertex-echo-top-level-fields', '--vertex-output-info-hidden-polls', '0',
      '--expired-token-responses', '1', '--gcs-cut-downloads', '0',
    ]);
    try {
      let s = '';
      for (let i = 0; i < 5; i++) s += JSON.stringify({ key: `k${i}`, request: { contents: [{ parts: [{ text: `${i}` }] }] } }) + '\n';
      expect((await call('POST', `${url}/upload/storage/v1/b/b/o?uploadType=media&name=in.jsonl`, { body: s, headers: AUTH })).status).toBe(401);
      expect((await call('POST', `${url}/upload/storage/v1/b/b/o?uploadType=media&name=in.jsonl`, { body: s, headers: AUTH })).status).toBe(200);
      const body = JSON.stringify({
        displayName: 'cli',
        model: 'publishers/google/models/gemini-2.5-flash',
        inputConfig: { instancesFormat: 'jsonl', gcsSource: { uris: ['gs://b/in.jsonl'] } },
        outputConfig: { predictionsFormat: 'jsonl', gcsDestination: { outputUriPrefix: 'gs://b/out' } },
      });
      const name = String((await call('POST', `${url}/v1/projects/p/locations/l/batchPredictionJobs`, { body, headers: AUTH })).json().name);
      let j: Record<string, unknown>;
      do j = (await call('GET', `${url}/v1/${name}`, { headers: AUTH })).json();
      while (!/FAILED|SUCCEEDED/.test(String(j.state)));
      expect(j).toMatchObject({ state: 'JOB_STATE_FAILED', completionStats: { successfulCount: '2', incompleteCount: '3' } });
      const dir = (j.outputInfo as { gcsOutputDirectory: string }).gcsOutputDirectory.replace('gs://b/', '');
      const out = await call('GET', `${url}/b/b/o/${encodeURIComponent(`${dir}/predictions.jsonl`)}?alt=media`);
      for (const line of out.text.split('\n').filter(Boolean)) expect(JSON.parse(line)).toHaveProperty('key');
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
