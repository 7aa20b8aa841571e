/**
 * The Vertex batch protocol over raw HTTP, default shapes and every knob:
 * auth (bearer required, no API key, 401 on an expired token), create checks,
 * list filters and pages, the worst-case output (shuffled rows, snake_case
 * echo, no top-level key, repeats in an incremental file, outputInfo late),
 * partial failure, the 24 h cut-off, EXPIRED, cancel with export, delete.
 */
import { describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { call, type Reply } from './emulator.helpers.js';
import { echoRequest } from '../src/emulator/vertex/rows.js';

const AUTH = { authorization: 'Bearer any-token' };
const P = 'projects/p1/locations/us-central1';

async function withEmu(opts: EmulatorOptions, fn: (emu: RunningEmulator) => Promise<void>): Promise<void> {
  const emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 20, vertexQueueMs: 5, ...opts });
  try {
    await fn(emu);
  } finally {
    await emu.close();
  }
}

function lines(n: number, extra: (i: number) => Record<string, unknown> = () => ({})): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    s += JSON.stringify({ key: `k${i}`, request: { contents: [{ role: 'user', parts: [{ text: `p${i}` }] }], labels: { gbs_seq: String(i) }, ...extra(i) } }) + '\n';
  }
  return s;
}

async function put(base: string, bucket: string, name: string, body: string): Promise<void> {
  const r = await call('POST', `${base}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=${encodeURIComponent(name)}`, { body, headers: AUTH });
  if (r.status !== 200) throw new Error(`upload: ${r.status} ${r.text}`);
}

function jobBody(input: string | string[], out: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    displayName: 'job',
    model: 'publishers/google/models/gemini-2.5-flash',
    inputConfig: { instancesFormat: 'jsonl', gcsSource: { uris: Array.isArray(input) ? input : [input] } },
    outputConfig: { predictionsFormat: 'jsonl', gcsDestination: { outputUriPrefix: out } },
    ...extra,
  });
}

async function create(base: string, body: string, version = 'v1'): Promise<Record<string, unknown>> {
  const r = await call('POST', `${base}/${version}/${P}/batchPredictionJobs`, { body, headers: { ...AUTH, 'content-type': 'application/json' } });
  if (r.status !== 200) throw new Error(`create: ${r.status} ${r.text}`);
  return r.json();
}

const get = (base: string, name: string): Promise<Reply> => call('GET', `${base}/v1/${name}`, { headers: AUTH });

const ENDED = /^JOB_STATE_(SUCCEEDED|FAILED|CANCELLED|EXPIRED|PARTIALLY_SUCCEEDED)$/;

/** Polls until the job ends; returns the first terminal answer. */
async function untilEnded(base: string, name: string): Promise<Record<string, unknown>> {
  for (;;) {
    const j = (await get(base, name)).json();
    if (ENDED.test(String(j.state))) return j;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every row of every *.jsonl object under the job's output directory. */
async function outputRows(base: string, dir: string): Promise<{ file: string; row: Record<string, unknown> }[]> {
  const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(dir)!;
  const list = (await call('GET', `${base}/storage/v1/b/${m[1]}/o?prefix=${encodeURIComponent(`${m[2]}/`)}`)).json();
  const out: { file: string; row: Record<string, unknown> }[] = [];
  for (const item of (list.items ?? []) as { name: string }[]) {
    const r = await call('GET', `${base}/storage/v1/b/${m[1]}/o/${encodeURIComponent(item.name)}?alt=media`);
    for (const l of r.text.split('\n').filter(Boolean)) out.push({ file: item.name.slice(m[2]!.length + 1), row: JSON.parse(l) as Record<string, unknown> });
  }
  return out;
}

const seqOf = (row: Record<string, unknown>): string => (row.request as { labels: { gbs_seq: string } }).labels.gbs_seq;

describe('auth', () => {
  it('needs a bearer token: none or an API key is 401 UNAUTHENTICATED; any token passes', () =>
    withEmu({}, async (emu) => {
      const none = await call('GET', `${emu.url}/v1/${P}/batchPredictionJobs`);
      expect(none.status).toBe(401);
      expect(none.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
      const key = await call('GET', `${emu.url}/v1/${P}/batchPredictionJobs`, { headers: { 'x-goog-api-key': 'k' } });
      expect(key.status).toBe(401);
      expect(key.json()).toMatchObject({ error: { message: expect.stringMatching(/API keys are not supported/) } });
      expect((await call('GET', `${emu.url}/v1/${P}/batchPredictionJobs`, { headers: AUTH })).status).toBe(200);
    }));

  it('expiredTokenResponses: the next N requests with a token answer 401 (Vertex and Cloud Storage), then pass', () =>
    withEmu({ expiredTokenResponses: 2 }, async (emu) => {
      const v = await call('GET', `${emu.url}/v1/${P}/batchPredictionJobs`, { headers: AUTH });
      expect(v.status).toBe(401);
      expect(v.headers['www-authenticate']).toMatch(/invalid_token/);
      const g = await call('GET', `${emu.url}/storage/v1/b/b/o`, { headers: AUTH });
      expect(g.status).toBe(401);
      expect(g.json()).toMatchObject({ error: { code: 401, errors: [{ reason: 'authError' }] } });
      expect((await call('GET', `${emu.url}/v1/${P}/batchPredictionJobs`, { headers: AUTH })).status).toBe(200);
      expect((await call('GET', `${emu.url}/storage/v1/b/b/o`, { headers: AUTH })).status).toBe(200);
    }));
});

describe('create, get, list', () => {
  it('answers the job QUEUED with a 19-digit id, on v1 and v1beta1', () =>
    withEmu({}, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(3));
      for (const v of ['v1', 'v1beta1']) {
        const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out'), v);
        expect(j.name).toMatch(new RegExp(`^${P}/batchPredictionJobs/[1-9]\\d{18}$`));
        expect(j.state).toBe('JOB_STATE_QUEUED');
        expect((await call('GET', `${emu.url}/${v}/${String(j.name)}`, { headers: AUTH })).status).toBe(200);
      }
    }));

  it('refuses bad labels, a bad model and a non-gs output with 400', () =>
    withEmu({}, async (emu) => {
      const post = (body: string): Promise<Reply> => call('POST', `${emu.url}/v1/${P}/batchPredictionJobs`, { body, headers: AUTH });
      expect((await post(jobBody('gs://b/x', 'gs://b/o', { labels: { Run: 'x' } }))).status).toBe(400);
      expect((await post(jobBody('gs://b/x', 'gs://b/o', { labels: { run: 'UPPER' } }))).status).toBe(400);
      expect((await post(jobBody('gs://b/x', 'gs://b/o', { model: 'gpt-4' }))).status).toBe(400);
      expect((await post(jobBody('gs://b/x', 's3://b/o'))).status).toBe(400);
    }));

  it('lists with labels.k="v" AND state=, labels.k:*, display_name, and pages', () =>
    withEmu({ vertexQueueMs: 60_000 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(1));
      const mk = (name: string, labels: Record<string, string>): Promise<Record<string, unknown>> =>
        create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out', { displayName: name, labels }));
      const a = await mk('a', { gbs_run: 'r1', gbs_part: '1' });
      const b = await mk('b', { gbs_run: 'r1', gbs_part: '2' });
      await mk('c', { other: 'x' });
      const list = async (q: string): Promise<Record<string, unknown>> =>
        (await call('GET', `${emu.url}/v1/${P}/batchPredictionJobs?${q}`, { headers: AUTH })).json();
      const names = (r: Record<string, unknown>): unknown[] => ((r.batchPredictionJobs ?? []) as { name: string }[]).map((j) => j.name);
      expect(names(await list(`filter=${encodeURIComponent('labels.gbs_run="r1" AND labels.gbs_part="2"')}`))).toEqual([b.name]);
      expect(names(await list(`filter=${encodeURIComponent('labels.gbs_part:* AND state=JOB_STATE_QUEUED')}`)).sort()).toEqual([a.name, b.name].sort());
      expect(names(await list(`filter=${encodeURIComponent('display_name="a"')}`))).toEqual([a.name]);
      expect(names(await list(`filter=${encodeURIComponent('state=JOB_STATE_RUNNING')}`))).toEqual([]);
      const p1 = await list('pageSize=2');
      expect(names(p1)).toHaveLength(2);
      const p2 = await list(`pageSize=2&pageToken=${String(p1.nextPageToken)}`);
      expect(names(p2)).toHaveLength(1);
      expect(p2.nextPageToken).toBeUndefined();
      expect((await call('GET', `${emu.url}/v1/${P}/batchPredictionJobs?filter=foo%3Dbar`, { headers: AUTH })).status).toBe(400);
    }));
});

describe('the output, default shapes (VERTEX.md worst case)', () => {
  it('shuffled rows, snake_case echo with labels, no top-level key, repeats in an incremental file, outputInfo late', () =>
    withEmu({}, async (emu) => {
      const N = 40;
      await put(emu.url, 'b', 'in/1.jsonl', lines(N, () => ({ generationConfig: { maxOutputTokens: 9 }, systemInstruction: { parts: [{ text: 's' }] } })));
      const j = await create(emu.url, jobBody('gs://b/in/*.jsonl', 'gs://b/out/x/', { labels: { gbs_run: 'r' } }));
      const ended = await untilEnded(emu.url, String(j.name));
      expect(ended).toMatchObject({ state: 'JOB_STATE_SUCCEEDED', completionStats: { successfulCount: String(N) }, labels: { gbs_run: 'r' } });
      expect(ended).not.toHaveProperty('outputInfo');
      const again = (await get(emu.url, String(j.name))).json() as { outputInfo: { gcsOutputDirectory: string } };
      const dir = again.outputInfo.gcsOutputDirectory;
      expect(dir).toMatch(/^gs:\/\/b\/out\/x\/prediction-model-/);
      const rows = await outputRows(emu.url, dir);
      const inPred = rows.filter((r) => r.file === 'predictions.jsonl').map((r) => seqOf(r.row));
      const inInc = rows.filter((r) => r.file.startsWith('incremental_predictions')).map((r) => seqOf(r.row));
      expect(new Set([...inPred, ...inInc]).size).toBe(N);
      expect(inInc.some((s) => inPred.includes(s))).toBe(true); // repeated in both
      expect(inInc.some((s) => !inPred.includes(s))).toBe(true); // only in the incremental file
      expect(inPred).not.toEqual(inPred.slice().sort((a, b) => Number(a) - Number(b)));
      for (const { row } of rows) {
        expect(Object.keys(row)).toEqual(['status', 'processed_time', 'request', 'response']);
        expect(row.status).toBe('');
        expect(row.request).toMatchObject({ generation_config: { max_output_tokens: 9 }, system_instruction: { parts: [{ text: 's' }] } });
        expect(row.request).not.toHaveProperty('generationConfig');
        expect(row).toHaveProperty('response.modelVersion', 'gemini-2.5-flash@default');
      }
    }));

  it('vertexEchoTopLevelFields echoes the key; vertexOutputInfoHiddenPolls: 0 shows outputInfo at once', () =>
    withEmu({ vertexEchoTopLevelFields: true, vertexOutputInfoHiddenPolls: 0 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(5));
      const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out'));
      const ended = (await untilEnded(emu.url, String(j.name))) as { outputInfo: { gcsOutputDirectory: string } };
      const rows = await outputRows(emu.url, ended.outputInfo.gcsOutputDirectory);
      for (const { row } of rows) expect(row.key).toBe(`k${seqOf(row)}`);
    }));
});

describe('the echoed request', () => {
  it('is snake_case at any depth, top-level fields sorted, map keys and free JSON left alone, whether or not anything is renamed', () => {
    const plain = { labels: { gbs_seq: '3' }, contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
    expect(JSON.stringify(echoRequest(plain))).toBe('{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"labels":{"gbs_seq":"3"}}');
    const deep = { contents: [{ parts: [{ inlineData: { mimeType: 'image/png', data: 'AA' } }] }], labels: { myLabel: 'x' } };
    expect(echoRequest(deep)).toEqual({ contents: [{ parts: [{ inline_data: { mime_type: 'image/png', data: 'AA' } }] }], labels: { myLabel: 'x' } });
    const raw = { contents: [{ parts: [{ functionResponse: { name: 'f', response: { camelKey: 1 } } }] }] };
    expect(echoRequest(raw)).toEqual({ contents: [{ parts: [{ function_response: { name: 'f', response: { camelKey: 1 } } }] }] });
    // Already in name order: echoed as it is; renamed into another order (generationConfig → generation_config): sorted again.
    const sorted = { contents: [], generationConfig: { temperature: 0 }, labels: { a: '1' } };
    expect(Object.keys(echoRequest(sorted))).toEqual(['contents', 'generation_config', 'labels']);
    const mixed = { systemInstruction: { parts: [] }, safetySettings: [], contents: [] };
    expect(Object.keys(echoRequest(mixed))).toEqual(['contents', 'safety_settings', 'system_instruction']);
    const inOrder = { contents: [{ parts: [{ text: 'x' }] }], labels: { b: '2' } };
    expect(echoRequest(inOrder)).toBe(inOrder);
  });
});

describe('knobs', () => {
  it('requestErrorRate: failed rows carry a free-text status and no response; the job ends PARTIALLY_SUCCEEDED', () =>
    withEmu({ requestErrorRate: 0.5, vertexOutputInfoHiddenPolls: 0 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(40));
      const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out'));
      const ended = (await untilEnded(emu.url, String(j.name))) as Record<string, unknown> & { outputInfo: { gcsOutputDirectory: string }; completionStats: Record<string, string> };
      expect(ended.state).toBe('JOB_STATE_PARTIALLY_SUCCEEDED');
      const failed = Number(ended.completionStats.failedCount);
      expect(failed).toBeGreaterThan(0);
      expect(Number(ended.completionStats.successfulCount) + failed).toBe(40);
      const rows = await outputRows(emu.url, ended.outputInfo.gcsOutputDirectory);
      const bad = rows.filter((r) => r.row.status !== '');
      expect(bad.length).toBeGreaterThan(0);
      for (const { row } of bad) {
        expect(row).not.toHaveProperty('response');
        expect(typeof row.status).toBe('string');
        expect(String(row.status)).toMatch(/^Internal error occurred\. Failed to get generateContentResponse: \{"error":/);
      }
    }));

  it('rows Vertex refuses (cachedContent) fail with a Bad Request status', () =>
    withEmu({ vertexOutputInfoHiddenPolls: 0 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(2, (i) => (i === 0 ? { cachedContent: 'cachedContents/x' } : {})));
      const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out'));
      const ended = (await untilEnded(emu.url, String(j.name))) as { outputInfo: { gcsOutputDirectory: string } };
      const rows = await outputRows(emu.url, ended.outputInfo.gcsOutputDirectory);
      const r0 = rows.find((r) => seqOf(r.row) === '0')!.row;
      expect(String(r0.status)).toMatch(/^Bad Request: .*cachedContent/);
    }));

  it('vertexCutoffRows: the job answers K rows, exports them, and ends FAILED (code 4) with the rest incomplete', () =>
    withEmu({ vertexCutoffRows: 7, vertexOutputInfoHiddenPolls: 0 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(20));
      const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out'));
      const ended = (await untilEnded(emu.url, String(j.name))) as Record<string, unknown> & { outputInfo: { gcsOutputDirectory: string } };
      expect(ended).toMatchObject({ state: 'JOB_STATE_FAILED', error: { code: 4 }, completionStats: { successfulCount: '7', incompleteCount: '13' } });
      const rows = await outputRows(emu.url, ended.outputInfo.gcsOutputDirectory);
      expect(new Set(rows.map((r) => seqOf(r.row))).size).toBe(7);
    }));

  it('vertexExpireJobs: the chosen job ends EXPIRED after the queue, with no output', () =>
    withEmu({ vertexExpireJobs: [2], vertexOutputInfoHiddenPolls: 0 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(3));
      const ok = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/o1'));
      const gone = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/o2'));
      expect((await untilEnded(emu.url, String(ok.name))).state).toBe('JOB_STATE_SUCCEEDED');
      const ended = await untilEnded(emu.url, String(gone.name));
      expect(ended).toMatchObject({ state: 'JOB_STATE_EXPIRED', completionStats: { incompleteCount: '-1' } });
      expect(ended).not.toHaveProperty('outputInfo');
      expect(ended).not.toHaveProperty('startTime');
    }));

  it('vertexFailJobs: the chosen job ends FAILED with an error and no output', () =>
    withEmu({ vertexFailJobs: 1 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(3));
      const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/o1'));
      const ended = await untilEnded(emu.url, String(j.name));
      expect(ended).toMatchObject({ state: 'JOB_STATE_FAILED', error: { code: 13 } });
      expect((await get(emu.url, String(j.name))).json()).not.toHaveProperty('outputInfo');
    }));

  it('vertexMaxJobRequests and a missing input fail the job', () =>
    withEmu({ vertexMaxJobRequests: 3 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(5));
      const big = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/o1'));
      expect(await untilEnded(emu.url, String(big.name))).toMatchObject({ state: 'JOB_STATE_FAILED', error: { code: 3 } });
      const missing = await create(emu.url, jobBody('gs://b/nope.jsonl', 'gs://b/o2'));
      expect(await untilEnded(emu.url, String(missing.name))).toMatchObject({ state: 'JOB_STATE_FAILED', error: { code: 5 } });
    }));
});

describe('shared fault knobs', () => {
  it('ambiguousCreateRate: the create answers 503 but the job exists, found by its labels', () =>
    withEmu({ ambiguousCreateRate: 1 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(2));
      const r = await call('POST', `${emu.url}/v1/${P}/batchPredictionJobs`, {
        body: jobBody('gs://b/in.jsonl', 'gs://b/out', { labels: { gbs_run: 'r9', gbs_part: '4' } }),
        headers: AUTH,
      });
      expect(r.status).toBe(503);
      const found = (await call('GET', `${emu.url}/v1/${P}/batchPredictionJobs?filter=${encodeURIComponent('labels.gbs_run="r9" AND labels.gbs_part="4"')}`, { headers: AUTH })).json();
      expect(found.batchPredictionJobs).toHaveLength(1);
      expect(emu.counters().createsByDisplayName.job).toBe(1);
    }));

  it('errorRates apply to Vertex calls and Cloud Storage calls by the same route groups', () =>
    withEmu({ errorRates: { get: 1, download: 1 }, errorStatuses: [503] }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(2));
      const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out'));
      const g = await get(emu.url, String(j.name));
      expect(g.status).toBe(503);
      expect(g.json()).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
      const d = await call('GET', `${emu.url}/storage/v1/b/b/o/in.jsonl?alt=media`);
      expect(d.status).toBe(503);
      expect(d.json()).toMatchObject({ error: { code: 503, errors: [{ reason: 'backendError' }] } });
      expect((await call('GET', `${emu.url}/storage/v1/b/b/o/in.jsonl`)).status).toBe(200);
    }));

  it('listLagMs: a new job shows in list (filtered or not) only after the lag; get finds it at once', () =>
    withEmu({ listLagMs: 300 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(1));
      const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out', { labels: { gbs_run: 'lag' } }));
      const q = `${emu.url}/v1/${P}/batchPredictionJobs?filter=${encodeURIComponent('labels.gbs_run="lag"')}`;
      expect((await call('GET', q, { headers: AUTH })).json().batchPredictionJobs).toBeUndefined();
      expect((await get(emu.url, String(j.name))).status).toBe(200);
      await new Promise((r) => setTimeout(r, 350));
      expect((await call('GET', q, { headers: AUTH })).json().batchPredictionJobs).toHaveLength(1);
    }));

  it('maxLineBytes: a longer line is a failed row; the lines around it are answered', () =>
    withEmu({ maxLineBytes: 1000, vertexOutputInfoHiddenPolls: 0 }, async (emu) => {
      const long = JSON.stringify({ request: { contents: [{ parts: [{ text: 'x'.repeat(300_000) }] }] } });
      await put(emu.url, 'b', 'in.jsonl', lines(1) + long + '\n' + lines(1).replace('"k0"', '"k2"').replace('"0"', '"2"'));
      const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out'));
      const ended = (await untilEnded(emu.url, String(j.name))) as Record<string, unknown> & { outputInfo: { gcsOutputDirectory: string } };
      expect(ended).toMatchObject({ state: 'JOB_STATE_PARTIALLY_SUCCEEDED', completionStats: { successfulCount: '2', failedCount: '1' } });
      const rows = await outputRows(emu.url, ended.outputInfo.gcsOutputDirectory);
      expect(rows.some((r) => /longer than 1000 bytes/.test(String(r.row.status)))).toBe(true);
    }));
});

describe('cancel and delete', () => {
  it('cancel: CANCELLING, then CANCELLED with the completed rows exported; a second cancel is 400', () =>
    withEmu({ runningMs: 60_000, vertexOutputInfoHiddenPolls: 0 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(10));
      const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out'));
      const name = String(j.name);
      // Running (for 60 s) with all ten rows answered: completionStats counts them live.
      for (;;) {
        const now = (await get(emu.url, name)).json() as { state: string; completionStats?: { successfulCount?: string } };
        if (now.state === 'JOB_STATE_RUNNING' && now.completionStats?.successfulCount === '10') break;
        await new Promise((r) => setTimeout(r, 5));
      }
      // A running job cannot be deleted.
      const del = await call('DELETE', `${emu.url}/v1/${name}`, { headers: AUTH });
      expect(del.status).toBe(400);
      expect(del.json()).toMatchObject({ error: { status: 'FAILED_PRECONDITION' } });
      const c = await call('POST', `${emu.url}/v1/${name}:cancel`, { headers: { ...AUTH, 'content-type': 'application/json' }, body: '{}' });
      expect(c.status).toBe(200);
      expect(c.json()).toEqual({});
      const ended = (await untilEnded(emu.url, name)) as Record<string, unknown> & { outputInfo: { gcsOutputDirectory: string } };
      expect(ended.state).toBe('JOB_STATE_CANCELLED');
      const rows = await outputRows(emu.url, ended.outputInfo.gcsOutputDirectory);
      expect(new Set(rows.map((r) => seqOf(r.row))).size).toBe(10);
      expect((await call('POST', `${emu.url}/v1/${name}:cancel`, { headers: AUTH, body: '{}' })).status).toBe(400);
      const op = await call('DELETE', `${emu.url}/v1/${name}`, { headers: AUTH });
      expect(op.status).toBe(200);
      expect(op.json()).toMatchObject({ name: expect.stringMatching(new RegExp(`^${P}/operations/\\d+$`)), done: true });
      expect((await get(emu.url, name)).status).toBe(404);
    }));

  it('cancel of a queued job passes through CANCELLING', () =>
    withEmu({ vertexQueueMs: 60_000 }, async (emu) => {
      await put(emu.url, 'b', 'in.jsonl', lines(1));
      const j = await create(emu.url, jobBody('gs://b/in.jsonl', 'gs://b/out'));
      const states: string[] = [];
      await call('POST', `${emu.url}/v1/${String(j.name)}:cancel`, { headers: AUTH, body: '{}' });
      for (;;) {
        const s = String((await get(emu.url, String(j.name))).json().state);
        if (states[states.length - 1] !== s) states.push(s);
        if (s === 'JOB_STATE_CANCELLED') break;
      }
      expect(states).toEqual(['JOB_STATE_CANCELLING', 'JOB_STATE_CANCELLED']);
    }));
});
