/**
 * `gemini-batch run 'gs://B/in/*.jsonl' --backend vertex` as a real process
 * against the emulator (Vertex jobs and Cloud Storage on one port), with its
 * worst-case defaults: rows shuffled, the request echoed in snake_case, the
 * top-level key not echoed, some rows repeated in an incremental file.
 * Objects are put in place with the official client (@google-cloud/storage).
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { canonicalJson } from '../src/cli/gcs-run/canonical.js';
import { cliEnv, collect, readLines, runCli, spawnCli, tempDir } from './cli.helpers.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('gb-gcs-input-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODEL = 'gemini-2.5-flash';
const VERTEX = ['--backend', 'vertex', '--project', 'p1', '--location', 'us-central1', '--bucket', 'gs://work/w', '--poll-interval', '20', '--adopt-window', '2000', '-q'];

async function withEmulator(opts: Parameters<typeof startEmulator>[0], fn: (emu: RunningEmulator, storage: Storage, env: NodeJS.ProcessEnv) => Promise<void>): Promise<void> {
  const emu = await startEmulator({ port: 0, pendingMs: 10, runningMs: 20, vertexQueueMs: 5, ...opts });
  try {
    const storage = new Storage({ apiEndpoint: emu.url, projectId: 'p1' });
    const env = cliEnv({ GOOGLE_VERTEX_BASE_URL: emu.url, STORAGE_EMULATOR_HOST: emu.url, GOOGLE_OAUTH_ACCESS_TOKEN: 'gcs-input-token', GOOGLE_CLOUD_PROJECT: undefined });
    await fn(emu, storage, env);
  } finally {
    await emu.close();
  }
}

const req = (text: string) => ({ contents: [{ role: 'user', parts: [{ text }] }] });
/** Lines `{key?, request}` whose prompts name their object and line (the emulator's answer echoes the prompt). */
function lines(tag: string, n: number, keyed: boolean): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `${JSON.stringify({ ...(keyed ? { key: `${tag}${i}` } : {}), request: req(`${tag} line ${i}`) })}\n`;
  return s;
}
const put = (storage: Storage, uri: string, text: string) => {
  const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri)!;
  return storage.bucket(m[1]!).file(m[2]!).save(text, { resumable: false, contentType: 'application/jsonl' });
};
const answerText = (l: Record<string, unknown>) => ((l.response as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> }).candidates[0]!.content.parts[0]!.text);
/** What the emulator answers a prompt with starts with this. */
const echoOf = (prompt: string) => `echo: ${prompt.slice(0, 40)} #`;

async function vertexJobs(emu: RunningEmulator): Promise<Array<{ displayName: string; inputConfig: { gcsSource: { uris: string[] } }; labels: Record<string, string> }>> {
  const res = await fetch(`${emu.url}/v1/projects/p1/locations/us-central1/batchPredictionJobs`, { headers: { authorization: 'Bearer t' } });
  return ((await res.json()) as { batchPredictionJobs?: [] }).batchPredictionJobs ?? [];
}

describe('canonical request form', () => {
  it('reads the snake_case echo with explicit nulls as the camelCase line it came from', () => {
    const sent = { contents: [{ role: 'user', parts: [{ text: 'hi', inlineData: { mimeType: 'text/plain', data: 'eA==' } }] }], generationConfig: { temperature: 0, maxOutputTokens: 5 } };
    const echoed = { generation_config: { max_output_tokens: 5, temperature: 0, top_k: null }, contents: [{ parts: [{ inline_data: { data: 'eA==', mime_type: 'text/plain' }, text: 'hi' }], role: 'user' }], system_instruction: null };
    expect(canonicalJson(echoed)).toBe(canonicalJson(sent));
    expect(canonicalJson({ ...sent, generationConfig: { temperature: 1 } })).not.toBe(canonicalJson(sent));
  });
});

describe("gemini-batch run 'gs://…' --backend vertex", () => {
  it('submits objects that fit as they are (no upload), and puts unordered, keyless, repeated rows back in line order', async () => {
    await withEmulator({}, async (emu, storage, env) => {
      await put(storage, 'gs://src/in/a.jsonl', lines('a', 23, true));
      // No keys, and lines 2 and 5 the same request: interchangeable, both answered.
      const b = lines('b', 8, false).split('\n');
      b[5] = b[2]!;
      await put(storage, 'gs://src/in/b.jsonl', b.join('\n'));
      await put(storage, 'gs://src/in/notes.txt', 'not matched\n');
      await put(storage, 'gs://src/other/c.jsonl', lines('c', 2, true));
      const out = join(dir, 'asis.jsonl');
      const uploadsBefore = emu.counters().requestsByRoute['gcs.upload'] ?? 0;
      const r = await runCli(['run', 'gs://src/in/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX.filter((f) => f !== '-q')], { env });
      expect(r.code).toBe(0);
      // The worst case was met: no key echoed, every row matched by its request, repeats ignored.
      expect(r.stderr).toMatch(/in\/a\.jsonl: 2 output files; rows matched by key 0, by gbs_seq label 0, by request 23; [1-9]\d* repeated rows ignored, 0 rows matching no line dropped/);
      expect(r.stderr).toMatch(/2 objects: 2 submitted as they are, 0 split/);
      // The summary of a local run: records, results, batches, tokens, cost.
      expect(r.stderr).toMatch(/records {2}31\n {2}results {2}31 ok, 0 errors\n {2}batches {2}2\n {2}tokens {3}[\d,]+ in, [\d,]+ out.*\n {2}cost {5}~\$[\d.]+ at batch price/);
      const got = readLines(out);
      expect(got.map((l) => l.key)).toEqual([...Array.from({ length: 23 }, (_, i) => `a${i}`), ...Array.from({ length: 8 }, (_, i) => String(i))]);
      const prompts = [...Array.from({ length: 23 }, (_, i) => `a line ${i}`), ...Array.from({ length: 8 }, (_, i) => `b line ${i === 5 ? 2 : i}`)];
      got.forEach((l, i) => expect(answerText(l).startsWith(echoOf(prompts[i]!))).toBe(true));
      const c = emu.counters();
      expect(c.requestsByRoute['vertex.create']).toBe(2);
      // Not one byte went up: the jobs read the user's objects.
      expect(c.requestsByRoute['gcs.upload'] ?? 0).toBe(uploadsBefore);
      const jobs = await vertexJobs(emu);
      expect(jobs.map((j) => j.inputConfig.gcsSource.uris).sort()).toEqual([['gs://src/in/a.jsonl'], ['gs://src/in/b.jsonl']]);
      expect(jobs.every((j) => j.labels.gbs_run && /^o[01]$/.test(j.labels.gbs_part!))).toBe(true);
      // The user's objects stay; the jobs' output under the work prefix is cleaned up.
      expect((await storage.bucket('src').file('in/a.jsonl').exists())[0]).toBe(true);
      expect((await storage.bucket('src').file('in/b.jsonl').exists())[0]).toBe(true);
      const [left] = await storage.bucket('work').getFiles({ prefix: 'w/' });
      expect(left.filter((f) => f.name.endsWith('.jsonl'))).toEqual([]);
      // The same command again: nothing to do, nothing created.
      const again = await runCli(['run', 'gs://src/in/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX], { env });
      expect(again.code).toBe(0);
      expect(emu.counters().requestsByRoute['vertex.create']).toBe(2);
    });
  }, 60_000);

  it('matches by the echoed key when it is unique, else by the gbs_seq label the line carried, else by the request', async () => {
    await withEmulator({ vertexEchoTopLevelFields: true }, async (_emu, storage, env) => {
      // Keys echoed; "dup" names two lines, so those two are matched by their requests.
      const a = ['k0', 'k1', 'dup', 'k3', 'dup', 'k5'].map((k, i) => JSON.stringify({ key: k, request: req(`keyed ${i}`) }));
      await put(storage, 'gs://src/tiers/a.jsonl', `${a.join('\n')}\n`);
      // No keys (the line number keys them in OUT), but labels of the user's own: rows come back by them.
      const b = Array.from({ length: 5 }, (_, i) => JSON.stringify({ request: { ...req(`labelled ${i}`), labels: { gbs_seq: `s${i}`, team: 'x' } } }));
      await put(storage, 'gs://src/tiers/b.jsonl', `${b.join('\n')}\n`);
      const out = join(dir, 'tiers.jsonl');
      const r = await runCli(['run', 'gs://src/tiers/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX.filter((f) => f !== '-q')], { env });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/tiers\/a\.jsonl: 2 output files; rows matched by key 4, by gbs_seq label 0, by request 2;/);
      expect(r.stderr).toMatch(/tiers\/b\.jsonl: 2 output files; rows matched by key 0, by gbs_seq label 5, by request 0;/);
      const got = readLines(out);
      expect(got.map((l) => l.key)).toEqual(['k0', 'k1', 'dup', 'k3', 'dup', 'k5', '0', '1', '2', '3', '4']);
      const prompts = [...Array.from({ length: 6 }, (_, i) => `keyed ${i}`), ...Array.from({ length: 5 }, (_, i) => `labelled ${i}`)];
      got.forEach((l, i) => expect(answerText(l).startsWith(echoOf(prompts[i]!))).toBe(true));
    });
  }, 60_000);

  it('splits an object over the line limit and one with an invalid line through the library; the rest go as they are', async () => {
    await withEmulator({}, async (emu, storage, env) => {
      await put(storage, 'gs://src/mix/1-big.jsonl', lines('big', 25, true));
      const bad = lines('bad', 4, true).split('\n');
      bad[1] = JSON.stringify({ key: 'bad1', request: { contents: [] } });
      await put(storage, 'gs://src/mix/2-bad.jsonl', bad.join('\n'));
      await put(storage, 'gs://src/mix/3-ok.jsonl', lines('ok', 5, true));
      const out = join(dir, 'split.jsonl');
      const r = await runCli(['run', 'gs://src/mix/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX, '--max-requests', '10', '--on-invalid', 'emit'], { env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const got = readLines(out);
      const keys = [...Array.from({ length: 25 }, (_, i) => `big${i}`), ...Array.from({ length: 4 }, (_, i) => `bad${i}`), ...Array.from({ length: 5 }, (_, i) => `ok${i}`)];
      expect(got.map((l) => l.key)).toEqual(keys);
      expect((got[26]!.error as { status: string }).status).toBe('INVALID_RECORD');
      got.forEach((l, i) => {
        if (i !== 26) expect(answerText(l).startsWith(echoOf(`${String(keys[i]).replace(/\d+$/, '')} line ${String(keys[i]).match(/\d+$/)![0]}`))).toBe(true);
      });
      const c = emu.counters();
      // 25 lines in 3 jobs of at most 10, 3 valid lines in 1, the small object as it is.
      expect(c.requestsByRoute['vertex.create']).toBe(5);
      expect(c.requestsByRoute['gcs.upload']).toBeGreaterThan(0);
      const jobs = await vertexJobs(emu);
      expect(jobs.filter((j) => j.inputConfig.gcsSource.uris[0]!.startsWith('gs://src/')).map((j) => j.inputConfig.gcsSource.uris[0])).toEqual(['gs://src/mix/3-ok.jsonl']);
    });
  }, 60_000);

  it('an invalid line without --on-invalid emit stops the run before that object is sent, naming the object and line', async () => {
    await withEmulator({}, async (emu, storage, env) => {
      const bad = lines('x', 3, true).split('\n');
      bad[2] = '{"key":"x2","request":{"contents":[{"role":"user","parts":[{"text":"t"}]}],"cachedContent":"cachedContents/1"}}';
      await put(storage, 'gs://src/inv/x.jsonl', bad.join('\n'));
      const out = join(dir, 'inv.jsonl');
      const r = await runCli(['run', 'gs://src/inv/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/gs:\/\/src\/inv\/x\.jsonl: line 3 \(key "x2"\).*cachedContent.*--on-invalid emit/);
      expect(emu.counters().requestsByRoute['vertex.create'] ?? 0).toBe(0);
      expect(existsSync(out)).toBe(false);
    });
  }, 60_000);

  it('a create whose answer was lost is adopted by its labels, never created twice', async () => {
    await withEmulator({ ambiguousCreateRate: 1 }, async (emu, storage, env) => {
      await put(storage, 'gs://src/lost/a.jsonl', lines('a', 6, true));
      await put(storage, 'gs://src/lost/b.jsonl', lines('b', 6, false));
      const out = join(dir, 'lost.jsonl');
      const r = await runCli(['run', 'gs://src/lost/*', '-m', MODEL, '-o', out, ...VERTEX], { env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(readLines(out).map((l) => l.key)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', '0', '1', '2', '3', '4', '5']);
      const c = emu.counters();
      expect(c.requestsByRoute['vertex.create']).toBe(2);
      expect(Object.values(c.createsByDisplayName)).toEqual([1, 1]);
    });
  }, 60_000);

  it('failed rows become error lines on their own lines; the lines of a job that expired are sent again; cut downloads resume', async () => {
    await withEmulator({ requestErrorRate: 0.3, seed: 7, vertexExpireJobs: [2], gcsCutDownloads: 3 }, async (emu, storage, env) => {
      await put(storage, 'gs://src/fail/a.jsonl', lines('a', 12, true));
      await put(storage, 'gs://src/fail/b.jsonl', lines('b', 4, true));
      const out = join(dir, 'fail.jsonl');
      const r = await runCli(['run', 'gs://src/fail/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX, '--max-jobs', '1'], { env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const got = readLines(out);
      expect(got.map((l) => l.key)).toEqual([...Array.from({ length: 12 }, (_, i) => `a${i}`), 'b0', 'b1', 'b2', 'b3']);
      const a = got.slice(0, 12);
      const failed = a.filter((l) => l.error !== undefined);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.length).toBeLessThan(12);
      for (const l of failed) expect(l.error).toMatchObject({ code: expect.any(Number), status: expect.any(String), message: expect.stringContaining('Failed to get generateContentResponse') });
      a.forEach((l, i) => l.response !== undefined && expect(answerText(l).startsWith(echoOf(`a line ${i}`))).toBe(true));
      // b's job expired in the queue: its lines went again through the library (the one upload), and were answered.
      const b = got.slice(12);
      b.forEach((l, i) => (l.response !== undefined ? expect(answerText(l).startsWith(echoOf(`b line ${i}`))).toBe(true) : expect(l.error).toMatchObject({ message: expect.stringContaining('Failed to get generateContentResponse') })));
      expect(b.some((l) => l.response !== undefined)).toBe(true);
      expect(emu.counters().requestsByRoute['vertex.create']).toBe(3);
      expect(emu.counters().downloadCuts).toBe(3);
    });
  }, 60_000);

  it('the 24 h processing cut-off: the rows the job finished are kept, only the other lines are sent again', async () => {
    await withEmulator({ vertexCutoffRows: 5 }, async (emu, storage, env) => {
      await put(storage, 'gs://src/cut/a.jsonl', lines('a', 12, false));
      const out = join(dir, 'cut.jsonl');
      const uploadsBefore = emu.counters().requestsByRoute['gcs.upload'] ?? 0;
      const r = await runCli(['run', 'gs://src/cut/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX.filter((f) => f !== '-q')], { env });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/cut\/a\.jsonl: its job ended JOB_STATE_FAILED with 7 of 12 lines unanswered; sending those again/);
      const got = readLines(out);
      expect(got.map((l) => l.key)).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
      got.forEach((l, i) => expect(answerText(l).startsWith(echoOf(`a line ${i}`))).toBe(true));
      // The 7 lines went up in the library's own input objects, removed once answered.
      expect(emu.counters().requestsByRoute['gcs.upload']).toBeGreaterThan(uploadsBefore);
      const [inputs] = await storage.bucket('work').getFiles({ prefix: 'w/' });
      expect(inputs.filter((f) => !f.name.includes('/out/'))).toEqual([]);
    });
  }, 60_000);

  it('writes OUT to stdout with -o -', async () => {
    await withEmulator({}, async (_emu, storage, env) => {
      await put(storage, 'gs://src/std/a.jsonl', lines('a', 3, true));
      await put(storage, 'gs://src/std/b.jsonl', lines('b', 2, true));
      const r = await runCli(['run', 'gs://src/std/*.jsonl', '-m', MODEL, '-o', '-', ...VERTEX], { env });
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { key: string }).key)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
    });
  }, 60_000);

  it('kill -9 while the jobs wait, then the same command: the jobs are waited for, none created again', async () => {
    await withEmulator({ vertexQueueMs: 2_000 }, async (emu, storage, env) => {
      await put(storage, 'gs://src/kill/a.jsonl', lines('a', 7, true));
      await put(storage, 'gs://src/kill/b.jsonl', lines('b', 5, true));
      const out = join(dir, 'kill.jsonl');
      const args = ['run', 'gs://src/kill/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX];
      const child = spawnCli(args, env);
      const done = collect(child);
      while ((emu.counters().requestsByRoute['vertex.create'] ?? 0) < 2) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGKILL');
      expect((await done).signal).toBe('SIGKILL');
      expect(existsSync(out)).toBe(false);
      const again = await runCli(args, { env });
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      expect(readLines(out).map((l) => l.key)).toEqual([...Array.from({ length: 7 }, (_, i) => `a${i}`), ...Array.from({ length: 5 }, (_, i) => `b${i}`)]);
      expect(readLines(out).every((l) => l.response !== undefined)).toBe(true);
      expect(emu.counters().requestsByRoute['vertex.create']).toBe(2);
    });
  }, 60_000);

  it('--cancel-on-abort: Ctrl-C while the as-is jobs wait cancels them, and says so', async () => {
    await withEmulator({ vertexQueueMs: 60_000 }, async (emu, storage, env) => {
      await put(storage, 'gs://src/cancel/a.jsonl', lines('a', 3, true));
      await put(storage, 'gs://src/cancel/b.jsonl', lines('b', 2, true));
      const out = join(dir, 'cancel.jsonl');
      const child = spawnCli(['run', 'gs://src/cancel/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX.filter((f) => f !== '-q'), '--cancel-on-abort'], env);
      const done = collect(child);
      while ((emu.counters().requestsByRoute['vertex.create'] ?? 0) < 2) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGINT');
      const r = await done;
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/cancelled 2 of 2 jobs in flight/);
      const states = await Promise.all(
        (await vertexJobs(emu)).map(async (j) => {
          const res = await fetch(`${emu.url}/v1/${(j as unknown as { name: string }).name}`, { headers: { authorization: 'Bearer t' } });
          return ((await res.json()) as { state: string }).state;
        }),
      );
      expect(states).toHaveLength(2);
      for (const st of states) expect(['JOB_STATE_CANCELLING', 'JOB_STATE_CANCELLED']).toContain(st);
      expect(existsSync(out)).toBe(false);
    });
  }, 60_000);

  it('kill -9 while a split object is half written, then the same command: its chunks resume, nothing created twice', async () => {
    await withEmulator({ vertexQueueMs: 300 }, async (emu, storage, env) => {
      await put(storage, 'gs://src/ksplit/a.jsonl', lines('a', 25, true));
      const out = join(dir, 'ksplit.jsonl');
      const args = ['run', 'gs://src/ksplit/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX, '--max-requests', '10', '--max-jobs', '1'];
      const child = spawnCli(args, env);
      const done = collect(child);
      const partial = join(dir, '.gemini-batch', 'ksplit.jsonl', 'objects', '0', 'results.jsonl');
      while (!(existsSync(partial) && statSync(partial).size > 0)) await new Promise((r) => setTimeout(r, 10));
      child.kill('SIGKILL');
      await done;
      const again = await runCli(args, { env });
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      expect(readLines(out).map((l) => l.key)).toEqual(Array.from({ length: 25 }, (_, i) => `a${i}`));
      readLines(out).forEach((l, i) => expect(answerText(l).startsWith(echoOf(`a line ${i}`))).toBe(true));
      expect(Object.values(emu.counters().createsByDisplayName).every((n) => n === 1)).toBe(true);
      expect(emu.counters().requestsByRoute['vertex.create']).toBe(3);
    });
  }, 60_000);

  it('writes OUT to a gs:// object, create-only', async () => {
    await withEmulator({}, async (_emu, storage, env) => {
      await put(storage, 'gs://src/g/a.jsonl', lines('a', 4, true));
      const state = join(dir, 'gs-out-state');
      const args = ['run', 'gs://src/g/*.jsonl', '-m', MODEL, '-o', 'gs://results/run1/out.jsonl', '--state-dir', state, ...VERTEX];
      const r = await runCli(args, { env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [body] = await storage.bucket('results').file('run1/out.jsonl').download();
      const got = body.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(got.map((l) => l.key)).toEqual(['a0', 'a1', 'a2', 'a3']);
      // A new run to the same object is refused before anything is sent.
      const fresh = await runCli([...args, '--fresh'], { env });
      expect(fresh.code).toBe(2);
      expect(fresh.stderr).toMatch(/OUT gs:\/\/results\/run1\/out\.jsonl already exists/);
    });
  }, 60_000);

  it('no matching object: one sentence, exit 2, OUT untouched', async () => {
    await withEmulator({}, async (emu, storage, env) => {
      await put(storage, 'gs://src/none/a.txt', 'x\n');
      const out = join(dir, 'none.jsonl');
      const r = await runCli(['run', 'gs://src/none/*.jsonl', '-m', MODEL, '-o', out, ...VERTEX], { env });
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe('gemini-batch: no object in gs://src matches gs://src/none/*.jsonl (listed by the prefix "none/"); check the bucket and the pattern.');
      expect(existsSync(out)).toBe(false);
      expect(existsSync(join(dir, '.gemini-batch', 'none.jsonl'))).toBe(false);
      expect(emu.counters().requestsByRoute['vertex.create'] ?? 0).toBe(0);
      const noBackend = await runCli(['run', 'gs://src/none/*.jsonl', '-m', MODEL, '-o', out], { env });
      expect(noBackend.code).toBe(2);
      expect(noBackend.stderr).toMatch(/add --backend vertex/);
    });
  }, 60_000);
});
