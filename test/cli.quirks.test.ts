/**
 * `gemini-batch run` against an emulator with the real service's reported
 * quirks on (issue 10 item 3, the CLI side of test/stage4.quirks.test.ts):
 * every record still gets exactly one result line, in input order, under its
 * own key; no displayName is created twice; the documented exit code; no hang.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmulatorOptions, RunningEmulator } from '../src/emulator/index.js';
import { createGeminiClient } from '../src/index.js';
import { emuEnv, emulator, KEY, readLines, runCli, tempDir } from './cli.helpers.js';

const MODEL = 'gemini-2.5-flash';
let emu: RunningEmulator | undefined;
let dir: string | undefined;
afterEach(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  emu = undefined;
  dir = undefined;
});

async function setup(knobs: EmulatorOptions): Promise<{ emu: RunningEmulator; dir: string }> {
  emu = await emulator(knobs);
  dir = tempDir('gb-cli-quirks-');
  return { emu, dir };
}

type Line = { key: string; response?: { candidates?: Array<{ content?: { parts?: Array<{ text?: string }> } }> }; error?: { code?: number; status?: string; message?: string } };

const text = (l: Line) => l.response?.candidates?.[0]?.content?.parts?.[0]?.text;
const createdOnce = (e: RunningEmulator) => Object.values(e.counters().createsByDisplayName).every((n) => n === 1);
const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);

function writeInput(d: string, name: string, prompts: (i: number) => string, n: number): string {
  const p = join(d, name);
  let s = '';
  for (let i = 0; i < n; i++) s += `${JSON.stringify({ key: `k${i}`, request: { contents: [{ role: 'user', parts: [{ text: prompts(i) }] }] } })}\n`;
  writeFileSync(p, s);
  return p;
}

/** Every record: one line, in input order, its own key and its own answer (the default responder echoes the prompt's start). */
function expectOneLineEach(lines: Line[], n: number, prefix = (i: number) => `prompt ${i} `): void {
  expect(lines.map((l) => l.key)).toEqual(Array.from({ length: n }, (_, i) => `k${i}`));
  lines.forEach((l, i) => {
    if (l.response) expect(text(l)).toContain(prefix(i));
  });
}

describe('gemini-batch run with the service quirks on', () => {
  // ~1,100 (inline: 17 MB in all) or ~1,500 (over 20 MB: files) tokens a record by the service's count:
  // 4,000 records are over the quota as one batch either way. Default options but the poll interval,
  // and the emulator's default RetryInfo delay (23 s): the run must not sit out 429s while its own batches run.
  // CJK text counts about one token a character (4 M tokens in 12 MB): an estimator that erred low would overshoot.
  it.each([
    ['inline', 'lorem ipsum dolor sit amet '.repeat(160)],
    ['file', 'lorem ipsum dolor sit amet '.repeat(220)],
    ['CJK inline', '東京の天気は晴れ'.repeat(125)],
  ] as const)('a default run on a Tier-1 project (2.5 Flash: 3,000,000 enqueued tokens) completes: 4,000 records, %s batches', async (mode, filler) => {
    const { emu, dir } = await setup({ enqueuedTokenLimit: 'tier1' });
    const n = 4_000;
    const input = writeInput(dir, 'tier1.jsonl', (i) => `prompt ${i} ${filler}`, n);
    const out = join(dir, 'tier1.results.jsonl');
    const r = await runCli(['run', input, '-m', MODEL, '-o', out, '--poll-interval', '20'], { env: emuEnv(emu) });
    noStack(r.stderr);
    expect(r.code).toBe(0);
    const lines = readLines(out) as Line[];
    expectOneLineEach(lines, n);
    expect(lines.filter((l) => l.error)).toEqual([]);
    expect(createdOnce(emu)).toBe(true);
    expect(emu.counters().batchesCreated).toBeGreaterThan(1);
    if (mode !== 'file') expect(emu.counters().uploadsFinalized).toBe(0);
    else expect(emu.counters().uploadsFinalized).toBeGreaterThan(1);
    // Before the summary at most a note that the first batch was split to fit the quota; the summary: all ok, nothing redone.
    const [notes, summary] = r.stderr.split(/(?=gemini-batch: done in )/);
    // (A run slowed by a busy machine also prints the periodic progress line: that is not a note.)
    const progressLine = /^gemini-batch: results [\d,]+/;
    for (const note of notes!.trim().split('\n').filter((l) => l && !progressLine.test(l))) {
      expect(note).toMatch(/^gemini-batch: batch \(chunk \d+\) resubmitting: over the enqueued-token quota of 3000000 tokens: split into \d+ batches$/);
    }
    expect(summary).toMatch(/results\s+4,000 ok, 0 errors\n/);
    expect(summary).toMatch(/records\s+4,000\n/);
    expect(summary).not.toMatch(/redone|lost|warn|quota|expire/i);
  }, 90_000);

  // Keyless inline responses can be matched only by position, so for inline batches the quirks that
  // reorder or duplicate lines are tested apart (a file batch's lines carry their keys).
  it.each([
    ['auto (inline batches)', [], { omitInlineMetadata: true }],
    ['file', ['--mode', 'file'], { omitInlineMetadata: true, shuffleResults: true, duplicateResults: 2 }],
  ] as const)('several quirks at once, mode %s: SUCCEEDED before output, lost create answers with a lagging list, gRPC per-request errors with --retry-failed 2', async (_mode, flags, knobs) => {
    const { emu, dir } = await setup({ ...knobs, succeededWithoutOutputPolls: 2, listLagMs: 300, ambiguousCreateRate: 0.3, requestErrorRate: 0.4 });
    const n = 300;
    const input = writeInput(dir, 'mix.jsonl', (i) => `prompt ${i} naïve café 東京`, n);
    const out = join(dir, 'mix.results.jsonl');
    const r = await runCli(['run', input, '-m', MODEL, '-o', out, ...flags, '--max-requests', '50', '--retry-failed', '2', '--poll-interval', '20', '--adopt-window', '5000'], {
      env: emuEnv(emu),
    });
    noStack(r.stderr);
    expect(r.code).toBe(0);
    const lines = readLines(out) as Line[];
    expectOneLineEach(lines, n);
    expect(createdOnce(emu)).toBe(true);
    // 300 requests at 40% errors: the retries ran (more batches than the 6 chunks) and left a few errors (~19: 300 x 0.4^3).
    expect(emu.counters().batchesCreated).toBeGreaterThan(6);
    const errors = lines.filter((l) => l.error);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThan(60);
    // Errors carry their gRPC names, never UNKNOWN, and the summary counts what OUT holds.
    const byStatus: Record<string, number> = {};
    for (const l of errors) {
      expect(l.error!.status).toMatch(/^(INTERNAL|UNAVAILABLE|RESOURCE_EXHAUSTED|DEADLINE_EXCEEDED)$/);
      byStatus[l.error!.status!] = (byStatus[l.error!.status!] ?? 0) + 1;
    }
    const m = /results\s+(\d+) ok, (\d+) errors?(?: \((.*)\))?\n/.exec(r.stderr);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(n - errors.length);
    expect(Number(m![2])).toBe(errors.length);
    const summaryByStatus = Object.fromEntries((m![3] ?? '').split(', ').filter(Boolean).map((x) => x.split(' ').reverse()).map(([s, c]) => [s, Number(c)]));
    expect(summaryByStatus).toEqual(byStatus);
    expect(r.stderr).not.toContain('UNKNOWN');
  }, 30_000);

  it('keyless inline responses whose number differs from the requests: never guessed, each record an error naming the cause, exit 3', async () => {
    const { emu, dir } = await setup({ omitInlineMetadata: true, duplicateResults: 1 });
    const input = writeInput(dir, 'dup.jsonl', (i) => `prompt ${i}`, 20);
    const r = await runCli(['run', input, '-m', MODEL, '-o', '-', '--mode', 'inline', '--max-requests', '10', '--poll-interval', '20'], { env: emuEnv(emu) });
    noStack(r.stderr);
    expect(r.code).toBe(3);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => l.key)).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`));
    for (const l of lines) {
      expect(l.error?.status).toBe('INLINE_RESPONSE_WITHOUT_KEY');
      expect(l.error?.message).toMatch(/11 inline responses without keys for 10 requests/);
    }
    expect(r.stderr).toMatch(/results\s+0 ok, 20 errors \(20 INLINE_RESPONSE_WITHOUT_KEY\)/);
    expect(createdOnce(emu)).toBe(true);
  });

  it('--json: progress counts each batch once, though keyless inline and late-output batches report SUCCEEDED twice', async () => {
    const { emu, dir } = await setup({ omitInlineMetadata: true, succeededWithoutOutputPolls: 2 });
    const input = writeInput(dir, 'json.jsonl', (i) => `prompt ${i}`, 60);
    const r = await runCli(['run', input, '-m', MODEL, '-o', '-', '--max-requests', '20', '--json', '--poll-interval', '20'], { env: emuEnv(emu) });
    noStack(r.stderr);
    expect(r.code).toBe(0);
    expectOneLineEach(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line), 60);
    const events = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { event: string; jobs?: Record<string, number>; batches?: number; detail?: string });
    // The quirks did happen: some batch reported SUCCEEDED again with a detail.
    expect(events.filter((e) => e.event === 'job' && /by position|no output attached yet/.test(e.detail ?? '')).length).toBeGreaterThan(0);
    const lastProgress = events.filter((e) => e.event === 'progress').at(-1);
    expect(lastProgress?.jobs).toEqual({ SUCCEEDED: 3 });
    expect(events.find((e) => e.event === 'summary')?.batches).toBe(3);
    expect(emu.counters().batchesCreated).toBe(3);
  });

  it('SUCCEEDED without output for longer than --output-wait: exit 1 in one sentence; the same command later fetches the results, creating nothing again', async () => {
    // Polls back off from 20 ms, so 300 ms of waiting sees only a few of the 15 output-less answers.
    const { emu, dir } = await setup({ succeededWithoutOutputPolls: 15 });
    const input = writeInput(dir, 'late.jsonl', (i) => `prompt ${i}`, 40);
    const out = join(dir, 'late.results.jsonl');
    const args = ['run', input, '-m', MODEL, '-o', out, '--max-requests', '20', '--poll-interval', '20'];
    const first = await runCli([...args, '--output-wait', '300'], { env: emuEnv(emu) });
    noStack(first.stderr);
    expect(first.code).toBe(1);
    expect(first.stderr.trim().split('\n')).toHaveLength(1);
    expect(first.stderr).toMatch(/shows SUCCEEDED but the service attached no output .*run again later to fetch them/);
    expect(emu.counters().batchesCreated).toBeGreaterThan(0);

    const second = await runCli(args, { env: emuEnv(emu) });
    noStack(second.stderr);
    expect(second.code).toBe(0);
    const lines = readLines(out) as Line[];
    expectOneLineEach(lines, 40);
    expect(lines.filter((l) => l.error)).toEqual([]);
    // Both chunks created once over the two runs; the service answered each request once.
    expect(createdOnce(emu)).toBe(true);
    expect(emu.counters().batchesCreated).toBe(2);
    expect(emu.counters().resultLines).toBe(40);
  }, 30_000);

  it('FAILED and EXPIRED jobs carrying partial output, states named JOB_STATE_*: their results are kept, only the rest goes again', async () => {
    const { emu, dir } = await setup({ partialOutputOnFailure: true, failJobs: [1], expireJobs: [3], statePrefix: 'JOB_STATE_', shuffleResults: true });
    const n = 120;
    const input = writeInput(dir, 'partial.jsonl', (i) => `prompt ${i} naïve`, n);
    const out = join(dir, 'partial.results.jsonl');
    const r = await runCli(['run', input, '-m', MODEL, '-o', out, '--mode', 'file', '--max-requests', '40', '--poll-interval', '20'], { env: emuEnv(emu) });
    noStack(r.stderr);
    expect(r.code).toBe(0);
    const lines = readLines(out) as Line[];
    expectOneLineEach(lines, n);
    expect(lines.filter((l) => l.error)).toEqual([]);
    expect(createdOnce(emu)).toBe(true);
    // 3 chunks, 2 of them resubmitted for their unanswered half only: the service answered each request once.
    expect(emu.counters().batchesCreated).toBe(5);
    expect(emu.counters().resultLines).toBe(n);
    expect(r.stderr.match(/(FAILED|EXPIRED) with partial output: 20 results kept, 20 requests go again/g)).toHaveLength(2);
    expect(r.stderr).toMatch(/results\s+120 ok, 0 errors\n/);
  });

  it('a project storage cap: with --storage-budget one upload at a time, the run fits and completes', async () => {
    // 4 chunks of ~6 kB uploads whose outputs (~20 kB each) the client may not delete (ids over 40 chars).
    const { emu, dir } = await setup({ storageLimitBytes: 100_000 });
    const input = writeInput(dir, 'storage.jsonl', (i) => `prompt ${i} ${'x'.repeat(60)}`, 200);
    const r = await runCli(['run', input, '-m', MODEL, '-o', '-', '--mode', 'file', '--max-requests', '50', '--storage-budget', '8000', '--poll-interval', '20'], { env: emuEnv(emu) });
    noStack(r.stderr);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
    expectOneLineEach(lines, 200);
    expect(lines.filter((l) => l.error)).toEqual([]);
    expect(createdOnce(emu)).toBe(true);
    const c = emu.counters();
    expect([c.uploadsStarted, c.uploadsFinalized, c.batchesCreated]).toEqual([4, 4, 4]);
  });

  it('with none of its batches queued, 429s end after --quota-wait: exit 1, one sentence naming the quota and the model', async () => {
    const { emu, dir } = await setup({ enqueuedTokenLimit: 5_000, quotaRetryDelaySeconds: 0, pendingMs: 60_000 });
    // Another batch of the same project holds the quota for the whole test.
    const other = createGeminiClient({ baseUrl: emu.url, apiKey: KEY });
    const big = JSON.stringify([{ request: { contents: [{ parts: [{ text: 'x'.repeat(19_996) }] }] }, metadata: { key: 'other' } }]);
    await other.batches.create({ model: MODEL, displayName: 'someone-else', inlineRequestsJson: big });
    await other.close();
    const input = writeInput(dir, 'held.jsonl', (i) => `prompt ${i}`, 5);
    const out = join(dir, 'held.results.jsonl');
    const started = Date.now();
    const r = await runCli(['run', input, '-m', MODEL, '-o', out, '--quota-wait', '500', '--poll-interval', '20'], { env: emuEnv(emu) });
    expect(Date.now() - started).toBeLessThan(20_000);
    noStack(r.stderr);
    expect(r.code).toBe(1);
    const message = r.stderr.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/enqueued-token quota .*\(5000 tokens\) for gemini-2\.5-flash kept refusing/);
    expect(emu.counters().batchesCreated).toBe(1); // only the other one
    if (existsSync(out)) expect(readFileSync(out, 'utf8')).toBe('');
  }, 30_000);

  describe('requests in the SDK shape ({contents, config}) against the strict emulator', () => {
    /** The emulator's responder records what the service received for each key. */
    async function strictSetup(): Promise<{ emu: RunningEmulator; dir: string; seen: Map<string, Record<string, unknown>> }> {
      const seen = new Map<string, Record<string, unknown>>();
      const r = await setup({
        responder: (request, ctx) => {
          seen.set(ctx.key, request);
          const first = (request.contents as Array<{ parts: Array<{ text: string }> }>)[0]!.parts[0]!.text;
          return { response: { candidates: [{ content: { role: 'model', parts: [{ text: `echo: ${first}` }] }, finishReason: 'STOP' }] } };
        },
      });
      return { ...r, seen };
    }
    const sdkLine = (i: number, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ key: `k${i}`, request: { contents: [{ role: 'user', parts: [{ text: `prompt ${i} ` }] }], config: { temperature: 0.2, systemInstruction: 'be brief' }, ...extra } });

    it('the config is translated as @google/genai does: every record completes', async () => {
      const { emu, dir, seen } = await strictSetup();
      const input = join(dir, 'sdk.jsonl');
      writeFileSync(input, Array.from({ length: 30 }, (_, i) => `${sdkLine(i)}\n`).join(''));
      const r = await runCli(['run', input, '-m', MODEL, '-o', '-', '--max-requests', '10', '--poll-interval', '20'], { env: emuEnv(emu) });
      noStack(r.stderr);
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
      expectOneLineEach(lines, 30);
      expect(lines.filter((l) => l.error)).toEqual([]);
      expect(seen.size).toBe(30);
      for (const req of seen.values()) {
        expect(req).not.toHaveProperty('config');
        expect(req.generationConfig).toEqual({ temperature: 0.2 });
        expect(JSON.stringify(req.systemInstruction ?? req.system_instruction)).toContain('be brief');
      }
      expect(createdOnce(emu)).toBe(true);
    });

    it('a line with an unknown field stops the run: exit 1, one sentence naming the line, the key and the field, and --on-invalid emit', async () => {
      const { emu, dir } = await strictSetup();
      const input = join(dir, 'bogus.jsonl');
      const lines = Array.from({ length: 12 }, (_, i) => sdkLine(i));
      lines[7] = JSON.stringify({ key: 'k7', request: { contents: [{ role: 'user', parts: [{ text: 'prompt 7 ' }] }], bogus: 1 } });
      writeFileSync(input, `${lines.join('\n')}\n`);
      const out = join(dir, 'bogus.results.jsonl');
      const r = await runCli(['run', input, '-m', MODEL, '-o', out, '--poll-interval', '20'], { env: emuEnv(emu) });
      noStack(r.stderr);
      expect(r.code).toBe(1);
      const message = r.stderr.trim();
      expect(message.split('\n')).toHaveLength(1);
      expect(message).toContain('line 8');
      expect(message).toContain('"k7"');
      expect(message).toContain('bogus');
      expect(message).toContain('--on-invalid emit');
      // Checked before anything was uploaded or created.
      expect(emu.counters().batchesCreated).toBe(0);
      if (existsSync(out)) expect(readFileSync(out, 'utf8')).toBe('');
    });

    it('with --on-invalid emit that line becomes an error result and the rest complete', async () => {
      const { emu, dir, seen } = await strictSetup();
      const input = join(dir, 'bogus.jsonl');
      const lines = Array.from({ length: 12 }, (_, i) => sdkLine(i));
      lines[7] = JSON.stringify({ key: 'k7', request: { contents: [{ role: 'user', parts: [{ text: 'prompt 7 ' }] }], bogus: 1 } });
      writeFileSync(input, `${lines.join('\n')}\n`);
      const r = await runCli(['run', input, '-m', MODEL, '-o', '-', '--on-invalid', 'emit', '--poll-interval', '20'], { env: emuEnv(emu) });
      noStack(r.stderr);
      expect(r.code).toBe(0);
      const out = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
      expectOneLineEach(out, 12);
      expect(out.filter((l) => l.error).map((l) => l.key)).toEqual(['k7']);
      expect(out[7]!.error!.status).toBe('INVALID_RECORD');
      expect(out[7]!.error!.message).toMatch(/line 8.*"k7".*bogus/);
      expect(out[7]!.error!.message).not.toContain('--on-invalid');
      expect(seen.has('k7')).toBe(false);
      expect(seen.size).toBe(11);
      expect(r.stderr).toMatch(/results\s+11 ok, 1 error \(1 INVALID_RECORD\)/);
    });
  });

  it('no Batch access (a limit of 0) fails at once: exit 1, one sentence naming the quota and the model, no partial output', async () => {
    const { emu, dir } = await setup({ enqueuedTokenLimit: 0, quotaRetryDelaySeconds: 0.2 });
    const input = writeInput(dir, 'none.jsonl', (i) => `prompt ${i} hello`, 20);
    const out = join(dir, 'none.results.jsonl');
    const started = Date.now();
    const r = await runCli(['run', input, '-m', MODEL, '-o', out, '--poll-interval', '20'], { env: emuEnv(emu) });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code).toBe(1);
    noStack(r.stderr);
    const message = r.stderr.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/quota/i);
    expect(message).toContain('no Gemini Batch access');
    expect(message).toContain(MODEL);
    expect(message).toContain('enable billing');
    expect(emu.counters().batchesCreated).toBe(0);
    // OUT holds no result lines (absent, or empty).
    if (existsSync(out)) expect(readFileSync(out, 'utf8')).toBe('');
  }, 30_000);
});
