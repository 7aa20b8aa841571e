/**
 * The knobs for the real service's reported quirks (issue 10), each as a
 * startEmulator option and, for the CLI process, as a flag: the enqueued-token
 * quota (Tier-1 preset, no Batch access), inline responses without metadata,
 * SUCCEEDED before the output, list lag, the project storage cap.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { countTokens, promptTokens, startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { call, createFileBatch, jsonl, spawnEmulator, startUpload, uploadOnce, waitDone, type Operation } from './emulator.helpers.js';

const running: RunningEmulator[] = [];
async function emulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const e = await startEmulator({ port: 0, pendingMs: 5, runningMs: 10, ...opts });
  running.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

const json = { 'content-type': 'application/json' };
const request = (text: string) => ({ contents: [{ role: 'user', parts: [{ text }] }] });
const createInline = (url: string, texts: string[], model = 'gemini-2.5-flash') =>
  call('POST', `${url}/v1beta/models/${model}:batchGenerateContent`, {
    headers: json,
    body: JSON.stringify({
      batch: { inputConfig: { requests: { requests: texts.map((t, i) => ({ request: request(t), metadata: { key: `k${i}` } })) } } },
    }),
  });

interface QuotaError {
  code: number;
  status: string;
  message: string;
  details: { '@type': string; violations?: { quotaMetric: string; quotaId: string; quotaDimensions: Record<string, string>; quotaValue: string }[]; retryDelay?: string }[];
}

describe('enqueued-token quota', () => {
  it('counts tokens like the responder and answers 429 QuotaFailure + RetryInfo past the limit', async () => {
    const e = await emulator({ enqueuedTokenLimit: { 'gemini-2.5-flash': 100 }, pendingMs: 60_000 });
    const forty = 'x'.repeat(160); // 40 tokens as the responder counts them
    expect(promptTokens('generate', request(forty))).toBe(40);
    // CJK costs about a token per character, like on the service: a client estimating chars/4 would be caught low.
    expect(countTokens('東京の天気')).toBe(5);
    expect(countTokens('abcdefgh東京')).toBe(4);
    expect(promptTokens('generate', { contents: [{ parts: [{ text: 'abcd' }] }], systemInstruction: { parts: [{ text: '한국' }] } })).toBe(3);
    expect((await createInline(e.url, [forty, forty])).status).toBe(200); // 80 enqueued
    const over = await createInline(e.url, [forty]); // 120 > 100
    expect(over.status).toBe(429);
    const err = over.json().error as QuotaError;
    expect(err).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect(err.message).toMatch(/Please retry in \d+(\.\d+)?s/);
    const qf = err.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.QuotaFailure')!;
    expect(qf.violations![0]).toMatchObject({
      quotaMetric: expect.any(String),
      quotaId: expect.any(String),
      quotaDimensions: { model: 'gemini-2.5-flash', location: expect.any(String) },
      quotaValue: '100',
    });
    expect(err.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.RetryInfo')).toMatchObject({ retryDelay: '23s' });
    expect((await createInline(e.url, ['x'.repeat(80)])).status).toBe(200); // 20 more fits exactly
    // Other models are not limited by this record.
    expect((await createInline(e.url, [forty, forty, forty], 'gemini-2.5-pro')).status).toBe(200);
    expect(e.counters().batchesCreated).toBe(2 + 1);
  });

  it('frees the quota when jobs end, and never accepts a batch larger than the limit', async () => {
    // The first job runs long enough that the second create surely meets its hold on the quota (pending and running both count).
    const e = await emulator({ enqueuedTokenLimit: 50, pendingMs: 5, runningMs: 300 });
    const first = await createInline(e.url, ['x'.repeat(160)]); // 40
    expect(first.status).toBe(200);
    expect((await createInline(e.url, ['x'.repeat(160)])).status).toBe(429);
    await waitDone(e.url, (first.json() as { name: string }).name);
    expect((await createInline(e.url, ['x'.repeat(160)])).status).toBe(200);
    const huge = await createInline(e.url, ['x'.repeat(400)]);
    expect(huge.status).toBe(429);
    expect((huge.json().error as QuotaError).message).toMatch(/can never be accepted/);
  });

  it('keeps counting a deleted batch that still runs: delete does not cancel', async () => {
    const e = await emulator({ enqueuedTokenLimit: 50, pendingMs: 60_000 });
    const first = await createInline(e.url, ['x'.repeat(160)]); // 40
    const name = (first.json() as { name: string }).name;
    expect((await call('DELETE', `${e.url}/v1beta/${name}`)).status).toBe(200);
    expect((await call('GET', `${e.url}/v1beta/${name}`)).status).toBe(404);
    expect((await createInline(e.url, ['x'.repeat(160)])).status).toBe(429);
  });

  it('counts a file batch by reading its requests', async () => {
    const e = await emulator({ enqueuedTokenLimit: 9, pendingMs: 60_000 });
    const small = await uploadOnce(e.url, Buffer.from(jsonl(3, () => 'abcd'))); // 3 x 1 token
    const big = await uploadOnce(e.url, Buffer.from(jsonl(7, () => 'abcd')));
    expect((await createFileBatch(e.url, small)).status).toBe(200);
    expect((await createFileBatch(e.url, big)).status).toBe(429);
    expect((await createFileBatch(e.url, small)).status).toBe(200);
  });

  it('has a Tier-1 preset', async () => {
    const e = await emulator({ enqueuedTokenLimit: 'tier1', pendingMs: 60_000 });
    const over = 'x'.repeat(4 * 3_000_000 + 1); // 3,000,001 tokens
    const r = await createInline(e.url, [over]);
    expect(r.status).toBe(429);
    expect((r.json().error as QuotaError).details[0]!.violations![0]!.quotaValue).toBe('3000000');
    expect((await createInline(e.url, [over], 'gemini-2.5-pro')).status).toBe(200);
    expect((await createInline(e.url, [over], 'gemini-2.5-flash-lite')).status).toBe(200);
  });

  it('a limit of 0 is a project without Batch access: every create answers 429 with quotaValue "0"', async () => {
    const e = await emulator({ enqueuedTokenLimit: 0, quotaRetryDelaySeconds: 0.5 });
    const r = await createInline(e.url, ['x']);
    expect(r.status).toBe(429);
    const err = r.json().error as QuotaError;
    expect(err.details[0]!.violations![0]!.quotaValue).toBe('0');
    expect(err.message).toMatch(/no Batch API access.*Please retry in 0\.5s/);
    expect(err.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.RetryInfo')).toMatchObject({ retryDelay: '0.5s' });
  });
});

describe('other quirks', () => {
  it('omitInlineMetadata: inline responses come back without metadata', async () => {
    const e = await emulator({ omitInlineMetadata: true });
    const op = await waitDone(e.url, ((await createInline(e.url, ['a', 'b'])).json() as { name: string }).name);
    const items = op.metadata.output!.inlinedResponses!.inlinedResponses;
    expect(items).toHaveLength(2);
    for (const it of items) {
      expect(it).not.toHaveProperty('metadata');
      expect(it.response).toBeDefined();
    }
  });

  it('succeededWithoutOutputPolls: SUCCEEDED without output for N GETs, then the output', async () => {
    const e = await emulator({ succeededWithoutOutputPolls: 2 });
    const name = await uploadOnce(e.url, Buffer.from(jsonl(2)));
    const created = (await createFileBatch(e.url, name)).json() as { name: string };
    const first = await waitDone(e.url, created.name); // the first SUCCEEDED answer
    expect(first.metadata.state).toBe('BATCH_STATE_SUCCEEDED');
    expect(first.metadata.output).toBeUndefined();
    expect(first.response).toBeUndefined();
    const second = (await call('GET', `${e.url}/v1beta/${created.name}`)).json() as unknown as Operation;
    expect(second.metadata.output).toBeUndefined();
    const third = (await call('GET', `${e.url}/v1beta/${created.name}`)).json() as unknown as Operation;
    expect(third.metadata.output?.responsesFile).toBe(`files/batch-${created.name.slice(8)}`);
    expect(third.response).toMatchObject({ responsesFile: third.metadata.output!.responsesFile });
  });

  it('statePrefix: JOB_STATE_ names on the wire instead of the service\'s BATCH_STATE_', async () => {
    const e = await emulator({ statePrefix: 'JOB_STATE_' });
    const name = ((await createInline(e.url, ['a'])).json() as { name: string; metadata: { state: string } }).name;
    const op = await waitDone(e.url, name);
    expect(op.metadata.state).toBe('JOB_STATE_SUCCEEDED');
    const listed = (await call('GET', `${e.url}/v1beta/batches`)).json().operations as Operation[];
    expect(listed[0]!.metadata.state).toBe('JOB_STATE_SUCCEEDED');
  });

  it('partialOutputOnFailure: FAILED and EXPIRED jobs carry results for their first half', async () => {
    const e = await emulator({ failJobs: [1], expireJobs: [2], partialOutputOnFailure: true });
    const file = await uploadOnce(e.url, Buffer.from(jsonl(10)));
    const failed = await waitDone(e.url, ((await createFileBatch(e.url, file)).json() as { name: string }).name);
    expect(failed.metadata.state).toBe('BATCH_STATE_FAILED');
    expect(failed.error).toMatchObject({ code: 13 });
    const out = failed.metadata.output?.responsesFile;
    expect(out).toBe(`files/batch-${failed.name.slice(8)}`);
    const rows = (await call('GET', `${e.url}/v1beta/${out}:download?alt=media`)).text.trim().split('\n').map((l) => JSON.parse(l) as { key: string });
    expect(rows.map((r) => r.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(failed.metadata.batchStats).toEqual({ requestCount: '10', successfulRequestCount: '5' });

    const expired = await waitDone(e.url, ((await createInline(e.url, ['a', 'b', 'c', 'd'])).json() as { name: string }).name);
    expect(expired.metadata.state).toBe('BATCH_STATE_EXPIRED');
    expect(expired.metadata.output?.inlinedResponses?.inlinedResponses.map((r) => (r.metadata as { key: string }).key)).toEqual(['k0', 'k1']);

    // Without the knob, failed jobs carry nothing.
    const plain = await emulator({ failJobs: [1] });
    const none = await waitDone(plain.url, ((await createInline(plain.url, ['a'])).json() as { name: string }).name);
    expect(none.metadata.output).toBeUndefined();
  });

  it('listLagMs: a new batch shows in batches.list only after the lag', async () => {
    const e = await emulator({ listLagMs: 300, pendingMs: 60_000 });
    const r = await createInline(e.url, ['a']);
    const name = (r.json() as { name: string }).name;
    expect((await call('GET', `${e.url}/v1beta/${name}`)).status).toBe(200);
    expect((await call('GET', `${e.url}/v1beta/batches`)).json().operations).toBeUndefined();
    await new Promise((res) => setTimeout(res, 350));
    const ops = (await call('GET', `${e.url}/v1beta/batches`)).json().operations as { name: string }[];
    expect(ops.map((o) => o.name)).toEqual([name]);
  });

  it('storageLimitBytes: uploads over the project cap are refused with 429, at start and mid-upload', async () => {
    const e = await emulator({ storageLimitBytes: 1000 });
    await uploadOnce(e.url, Buffer.alloc(600, 0x61));
    const start = await call('POST', `${e.url}/upload/v1beta/files`, {
      headers: { ...json, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start', 'x-goog-upload-header-content-length': '500' },
      body: '{}',
    });
    expect(start.status).toBe(429);
    expect(start.json()).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
    expect(String((start.json().error as { message: string }).message)).toMatch(/storage/i);
    // Undeclared size: refused when the piece arrives.
    const url = await startUpload(e.url, 0).catch(() => '');
    expect(url).not.toBe('');
    const piece = await call('POST', url, {
      headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0', 'content-length': '500' },
      body: Buffer.alloc(500, 0x62),
    });
    expect(piece.status).toBe(429);
    // 400 bytes still fit.
    await uploadOnce(e.url, Buffer.alloc(400, 0x63));
  });
});

describe('the CLI process', () => {
  it('takes the quirk knobs as flags, and --error-statuses 0 drops connections', async () => {
    const { url, child } = await spawnEmulator([
      '--no-batch-access',
      '--error-rate-get',
      '1',
      '--error-statuses',
      '0',
      '--list-lag-ms',
      '5',
      '--storage-limit-bytes',
      '100',
      '--omit-inline-metadata',
      '--succeeded-without-output-polls',
      '1',
      '--enqueued-token-limit',
      'tier1',
      '--webhook-faults',
      'drop=0.5,delay-ms=10',
      '--quota-retry-delay-s',
      '1.5',
      '--state-prefix',
      'JOB_STATE',
    ]);
    try {
      const r = await createInline(url, ['a']);
      expect(r.status).toBe(429);
      expect((r.json().error as QuotaError).details[0]!.violations![0]!.quotaValue).toBe('0');
      expect((r.json().error as QuotaError).details.at(-1)).toMatchObject({ retryDelay: '1.5s' });
      await expect(call('GET', `${url}/v1beta/batches/abc`)).rejects.toThrow();
      const big = await call('POST', `${url}/upload/v1beta/files`, {
        headers: { ...json, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start', 'x-goog-upload-header-content-length': '101' },
        body: '{}',
      });
      expect(big.status).toBe(429);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
