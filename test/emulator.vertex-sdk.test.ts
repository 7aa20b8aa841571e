/**
 * The official clients, unchanged, against the emulator's Vertex side:
 * @google/genai in `vertexai: true` mode (httpOptions.baseUrl, a fixed OAuth
 * token through googleAuthOptions.authClient, no ADC) creates, gets, lists,
 * cancels and deletes batch prediction jobs; @google-cloud/storage puts the
 * input in the emulated bucket and reads the output back.
 */
import { Storage } from '@google-cloud/storage';
import { GoogleGenAI, type BatchJob } from '@google/genai';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';

const PROJECT = 'test-project';
const LOCATION = 'us-central1';
const N = 30;
let emu: RunningEmulator;
let ai: GoogleGenAI;
let storage: Storage;

/** A real google-auth-library client holding a token that does not expire within the test: no ADC, no network. */
function fixedToken(token: string): OAuth2Client {
  const c = new OAuth2Client();
  c.setCredentials({ access_token: token, expiry_date: Date.now() + 3600_000, token_type: 'Bearer' });
  return c;
}

function inputLines(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    s += JSON.stringify({
      key: `k${i}`,
      request: { contents: [{ role: 'user', parts: [{ text: `prompt ${i}` }] }], generationConfig: { maxOutputTokens: 64 }, labels: { gbs_seq: String(i) } },
    }) + '\n';
  }
  return s;
}

/** The SDK passes the job's outputInfo through as it came. */
const outputDir = (j: BatchJob): string | undefined => (j as { outputInfo?: { gcsOutputDirectory?: string } }).outputInfo?.gcsOutputDirectory;

const ENDED = ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EXPIRED', 'JOB_STATE_PARTIALLY_SUCCEEDED'];

async function untilEnded(name: string): Promise<BatchJob> {
  for (;;) {
    const j = await ai.batches.get({ name });
    if (ENDED.includes(String(j.state))) return j;
    await new Promise((r) => setTimeout(r, 15));
  }
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0, pendingMs: 20, runningMs: 40, vertexQueueMs: 20 });
  ai = new GoogleGenAI({
    vertexai: true,
    project: PROJECT,
    location: LOCATION,
    httpOptions: { baseUrl: emu.url },
    googleAuthOptions: { authClient: fixedToken('test-token') },
  });
  storage = new Storage({ apiEndpoint: emu.url, projectId: PROJECT });
  const b = storage.bucket('vb');
  await b.file('in/part-1.jsonl').save(inputLines(0, 15), { resumable: false, contentType: 'application/jsonl' });
  await b.file('in/part-2.jsonl').save(inputLines(15, N), { resumable: true, contentType: 'application/jsonl' });
});

afterAll(async () => {
  await emu.close();
});

describe('@google/genai (vertexai: true) against the emulator', () => {
  let jobName = '';

  it('creates a job over a wildcard input; the job is QUEUED with a numeric id', async () => {
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: 'gs://vb/in/*.jsonl', config: { dest: 'gs://vb/out/run-1', displayName: 'run-1' } });
    expect(job.name).toMatch(new RegExp(`^projects/${PROJECT}/locations/${LOCATION}/batchPredictionJobs/\\d{19}$`));
    expect(job.state).toBe('JOB_STATE_QUEUED');
    expect(job.displayName).toBe('run-1');
    jobName = job.name!;
  });

  it('gets it until it ends; outputInfo is missing on the first terminal GET and present on the next', async () => {
    const first = await untilEnded(jobName);
    expect(first.state).toBe('JOB_STATE_SUCCEEDED');
    expect(first.dest?.gcsUri).toBe('gs://vb/out/run-1');
    expect(outputDir(first)).toBeUndefined();
    const second = await ai.batches.get({ name: jobName });
    expect(outputDir(second)).toMatch(/^gs:\/\/vb\/out\/run-1\/prediction-model-\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(second.completionStats).toMatchObject({ successfulCount: String(N) });
  });

  it('writes rows the storage client reads back: every input once after de-duplication, shuffled, echoed in snake_case, no key', async () => {
    const job = await ai.batches.get({ name: jobName });
    const dir = outputDir(job)!.replace('gs://vb/', '');
    const [files] = await storage.bucket('vb').getFiles({ prefix: `${dir}/` });
    const names = files.map((f) => f.name.slice(dir.length + 1)).sort();
    expect(names).toEqual(['incremental_predictions-1.jsonl', 'predictions.jsonl']);
    const rows: Record<string, unknown>[] = [];
    for (const f of files) {
      const [buf] = await f.download({ validation: 'crc32c' });
      for (const line of buf.toString('utf8').split('\n').filter(Boolean)) rows.push(JSON.parse(line) as Record<string, unknown>);
    }
    expect(rows.length).toBeGreaterThan(N); // some rows are in both files
    const seqs = rows.map((r) => (r.request as { labels: { gbs_seq: string } }).labels.gbs_seq);
    expect(new Set(seqs).size).toBe(N);
    const predictionsOrder = seqs.slice(0, 10);
    expect(predictionsOrder).not.toEqual(predictionsOrder.slice().sort((a, b) => Number(a) - Number(b)));
    for (const r of rows) {
      expect(r).not.toHaveProperty('key');
      expect(r.status).toBe('');
      expect(r).toHaveProperty('processed_time');
      expect(r.request).toHaveProperty('generation_config.max_output_tokens', 64);
      expect(r).toHaveProperty('response.candidates');
    }
  });

  it('lists jobs with a filter and pages', async () => {
    const second = await ai.batches.create({ model: 'gemini-2.5-flash', src: 'gs://vb/in/part-1.jsonl', config: { dest: 'gs://vb/out/run-2', displayName: 'run-2' } });
    await untilEnded(second.name!);
    const seen: string[] = [];
    const pager = await ai.batches.list({ config: { pageSize: 1 } });
    for await (const j of pager) seen.push(j.displayName!);
    expect(seen.sort()).toEqual(['run-1', 'run-2']);
    const only: string[] = [];
    for await (const j of await ai.batches.list({ config: { filter: 'display_name="run-2"' } })) only.push(j.name!);
    expect(only).toEqual([second.name]);
  });

  it('cancels a job; it ends CANCELLED', async () => {
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: 'gs://vb/in/part-1.jsonl', config: { dest: 'gs://vb/out/run-3', displayName: 'run-3' } });
    await ai.batches.cancel({ name: job.name! });
    const after = await ai.batches.get({ name: job.name! });
    expect(['JOB_STATE_CANCELLING', 'JOB_STATE_CANCELLED']).toContain(after.state);
    expect((await untilEnded(job.name!)).state).toBe('JOB_STATE_CANCELLED');
  });

  it('deletes a finished job (an Operation, done); it is gone after', async () => {
    const op = await ai.batches.delete({ name: jobName });
    expect(op.done).toBe(true);
    await expect(ai.batches.get({ name: jobName })).rejects.toMatchObject({ status: 404 });
  });
});
