/**
 * `gemini-batch run` as a user meets it: a real process from source, real HTTP
 * to an emulator on 127.0.0.1, files on disk.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, cliEnv, emuEnv, emulator, filesUnder, KEY, readLines, runCli, tempDir } from './cli.helpers.js';

const MODEL = 'gemini-2.5-flash';
let emu: RunningEmulator;
let dir: string;

beforeAll(async () => {
  emu = await emulator();
  dir = tempDir();
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const fast = ['--poll-interval', '20'];

describe('gemini-batch run', () => {
  it('writes one result per input line, in input order, with the keys of the input', async () => {
    const input = join(dir, 'many.jsonl');
    writeFileSync(input, batchJsonl(1200));
    const out = join(dir, 'many.results.jsonl');
    const r = await runCli(['run', input, '--model', MODEL, '--output', out, '--max-requests', '250', '--mode', 'file', ...fast], { env: emuEnv(emu) });
    expect(r.stderr).not.toContain('    at ');
    expect(r.code).toBe(0);
    const lines = readLines(out);
    expect(lines.map((l) => l.key)).toEqual(Array.from({ length: 1200 }, (_, i) => `k${i}`));
    expect(lines.every((l) => l.response !== undefined)).toBe(true);
    const text = (lines[7]!.response as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> }).candidates[0]!.content.parts[0]!.text;
    expect(text).toContain('prompt 7: naïve café');
    // The summary: records, results by status, batches, tokens, cost, time.
    expect(r.stderr).toMatch(/records\s+1,200/);
    expect(r.stderr).toMatch(/results\s+1,200 ok, 0 errors/);
    expect(r.stderr).toMatch(/batches\s+5/);
    expect(r.stderr).toMatch(/tokens\s+[\d,]+ in, [\d,]+ out/);
    expect(r.stderr).toMatch(/cost\s+~\$[\d.]+ at batch price \(gemini-2\.5-flash\)/);
    expect(r.stderr).toMatch(/done in [\d.:]+/);
    // A finished run keeps only its completed journal (so the same command again knows it is done), no results.
    expect(readdirSync(join(dir, '.gemini-batch', 'many.results.jsonl', 'results'))).toEqual([]);
    expect(readFileSync(join(dir, '.gemini-batch', 'many.results.jsonl', 'journal.jsonl'), 'utf8')).toContain('"t":"complete"');
  });

  it('reads stdin and writes stdout with -', async () => {
    const r = await runCli(['run', '-', '-m', MODEL, '-o', '-', ...fast], { env: emuEnv(emu), stdin: batchJsonl(5) });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { key: string });
    expect(lines.map((l) => l.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    // Nothing but results on stdout: progress and summary go to stderr.
    expect(r.stderr).toContain('done in');
  });

  it('builds requests from any JSONL records with --prompt-field, --key-field, --system and --generation-config', async () => {
    const input = join(dir, 'reviews.jsonl');
    writeFileSync(input, '{"id":"r1","text":"great ☕"}\n{"id":"r2","text":"meh"}\n{"id":3,"text":"a number id"}\n');
    const r = await runCli(
      ['run', input, '-m', MODEL, '-o', '-', '--prompt-field', 'text', '--key-field', 'id', '--system', 'Be terse.', '--generation-config', '{"temperature":0}', ...fast],
      { env: emuEnv(emu) },
    );
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { key: string; response: { candidates: Array<{ content: { parts: Array<{ text: string }> } }> } });
    expect(lines.map((l) => l.key)).toEqual(['r1', 'r2', '3']); // (a record without "id" is invalid: cli.keys.test.ts)
    expect(lines[0]!.response.candidates[0]!.content.parts[0]!.text).toContain('great ☕');
  });

  it('streams a JSON array file', async () => {
    const input = join(dir, 'array.json');
    const records = Array.from({ length: 50 }, (_, i) => ({ key: `a${i}`, request: { contents: [{ parts: [{ text: `item ${i}` }] }] } }));
    writeFileSync(input, `  \n${JSON.stringify(records, null, 2)}\n`);
    const out = join(dir, 'array.results.jsonl');
    const r = await runCli(['run', input, '-m', MODEL, '-o', out, ...fast], { env: emuEnv(emu) });
    expect(r.code).toBe(0);
    expect(readLines(out).map((l) => l.key)).toEqual(records.map((x) => x.key));
  });

  it('stops at a bad line with one sentence naming the line and key, no stack trace, exit 1', async () => {
    const input = join(dir, 'bad.jsonl');
    const lines = batchJsonl(6).split('\n');
    lines[6] = '{"key":"a","prompt":"forgot the request"}';
    writeFileSync(input, `${lines.slice(0, 7).join('\n')}\n`);
    const r = await runCli(['run', input, '-m', MODEL, '-o', join(dir, 'bad.out.jsonl'), ...fast], { env: emuEnv(emu) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('line 7 (key "a"): missing "request"');
    expect(r.stderr).not.toContain('    at ');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names the physical line of a non-JSON line; blank lines are skipped, not records', async () => {
    const input = join(dir, 'notjson.jsonl');
    const good = batchJsonl(2).split('\n');
    writeFileSync(input, `${good[0]}\n\n${good[1]}\n{oops\n`);
    const r = await runCli(['run', input, '-m', MODEL, '-o', '-', '--on-invalid', 'emit', ...fast], { env: emuEnv(emu) });
    expect(r.code).toBe(0);
    const out = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { key: string; error?: { message: string; status: string } });
    expect(out).toHaveLength(3);
    expect(out[0]!.key).toBe('k0');
    expect(out[1]!.key).toBe('k1');
    expect(out[2]!.error?.message).toMatch(/^line 4: not valid JSON/);
    expect(out[2]!.error?.message).not.toContain('--on-invalid');
    expect(r.stderr).toMatch(/results\s+2 ok, 1 errors? \(1 INVALID_RECORD\)/);
  });

  it('with no API key and no endpoint says how to fix it, exit 2', async () => {
    const input = join(dir, 'nokey.jsonl');
    writeFileSync(input, batchJsonl(1));
    const r = await runCli(['run', input, '-m', MODEL, '-o', '-'], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('set GEMINI_API_KEY');
    expect(r.stderr).toContain('--emulator');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('rejects a bad flag value or a missing option with exit 2', async () => {
    // Separate processes, no shared state: run them side by side.
    const [a, b, c, d] = await Promise.all([
      runCli(['run', 'x.jsonl', '-m', MODEL, '-o', '-', '--max-requests', 'lots'], { env: emuEnv(emu) }),
      runCli(['run', 'x.jsonl', '-o', '-'], { env: emuEnv(emu) }),
      runCli(['run', join(dir, 'absent.jsonl'), '-m', MODEL, '-o', '-'], { env: emuEnv(emu) }),
      runCli(['run', 'x.jsonl', '-m', MODEL, '-o', '-', '--frobnicate'], { env: emuEnv(emu) }),
    ]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--max-requests');
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--model');
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('cannot read INPUT');
    expect(d.code).toBe(2);
  });

  it('--json writes one parseable event per line on stderr: progress, job, summary', async () => {
    const input = join(dir, 'json.jsonl');
    writeFileSync(input, batchJsonl(300));
    const r = await runCli(['run', input, '-m', MODEL, '-o', join(dir, 'json.out.jsonl'), '--json', '--max-requests', '100', ...fast], { env: emuEnv(emu) });
    expect(r.code).toBe(0);
    const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; [k: string]: unknown });
    const kinds = new Set(events.map((e) => e.event));
    expect(kinds).toContain('progress');
    expect(kinds).toContain('job');
    const summary = events.at(-1)!;
    expect(summary.event).toBe('summary');
    expect(summary).toMatchObject({ records: 300, written: 300, ok: 300, batches: 3 });
  });

  it('--quiet prints nothing on success', async () => {
    const r = await runCli(['run', '-', '-m', MODEL, '-o', '-', '--quiet', ...fast], { env: emuEnv(emu), stdin: batchJsonl(3) });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('writes to a device like /dev/null twice in a row, with no state dir beside it', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['run', '-', '-m', MODEL, '-o', '/dev/null', '--quiet', ...fast], { env: emuEnv(emu), stdin: batchJsonl(3) });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    expect(existsSync('/dev/.gemini-batch')).toBe(false);
  });

  it('--emulator runs with no key at all and says so', async () => {
    // A model the service serves but the price table does not know: its cost is unknown, never $0.
    const r = await runCli(['run', '-', '-m', 'gemini-2.5-flash-image', '-o', '-', '--emulator', ...fast], { env: cliEnv(), stdin: batchJsonl(3) });
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(r.stderr).toContain('embedded emulator');
    expect(r.stderr).toMatch(/cost\s+unknown: no price for gemini-2.5-flash-image/);
  });

  it('never shows the API key: not on stdout, stderr, in the output or the state dir', async () => {
    const input = join(dir, 'secret.jsonl');
    writeFileSync(input, batchJsonl(40));
    const out = join(dir, 'secret.results.jsonl');
    const state = join(dir, 'secret-state');
    const ok = await runCli(['run', input, '-m', MODEL, '-o', out, '--state-dir', state, '--json', '--max-requests', '10', '--mode', 'file', ...fast], { env: emuEnv(emu) });
    expect(ok.code).toBe(0);
    // An error path too: the wrong key is refused by the service; the refusal must not echo it.
    const wrong = await runCli(['run', input, '-m', MODEL, '-o', join(dir, 'wrong.jsonl'), ...fast], {
      env: cliEnv({ GOOGLE_GEMINI_BASE_URL: emu.url, GEMINI_API_KEY: 'SECRET-KEY-wrong' }),
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).not.toContain('    at ');
    const texts = [ok.stdout, ok.stderr, readFileSync(out, 'utf8'), wrong.stdout, wrong.stderr, ...filesUnder(state).map((f) => readFileSync(f, 'utf8'))];
    for (const t of texts) {
      expect(t).not.toContain(KEY);
      expect(t).not.toContain('SECRET-KEY-wrong');
    }
  });
});

describe('gemini-batch help and other commands', () => {
  it('--help on every command and --version', async () => {
    const env = cliEnv();
    const commands = [['--help'], ['run', '--help'], ['jobs', '--help'], ['jobs', 'list', '--help'], ['files', '--help'], ['emulator', '--help']];
    const results = await Promise.all(commands.map((args) => runCli(args, { env })));
    results.forEach((r, i) => {
      expect(r.code, commands[i]!.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: gemini-batch');
    });
    const v = await runCli(['--version'], { env });
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('jobs list / get / delete and files list talk to the service', async () => {
    const env = emuEnv(emu);
    const input = join(dir, 'jobs.jsonl');
    writeFileSync(input, batchJsonl(3));
    expect((await runCli(['run', input, '-m', MODEL, '-o', join(dir, 'jobs.out.jsonl'), '--mode', 'file', '--no-cleanup', ...fast], { env })).code).toBe(0);
    const list = await runCli(['jobs', 'list', '--json'], { env });
    expect(list.code).toBe(0);
    const jobs = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; state: string });
    expect(jobs.length).toBeGreaterThan(0);
    const table = await runCli(['jobs', 'list'], { env });
    expect(table.stdout).toMatch(/^NAME\s+STATE/);
    const get = await runCli(['jobs', 'get', jobs[0]!.name], { env });
    expect(JSON.parse(get.stdout)).toMatchObject({ name: jobs[0]!.name });
    const files = await runCli(['files', 'list'], { env });
    expect(files.code).toBe(0);
    expect(files.stdout).toMatch(/files\//);
    const del = await runCli(['jobs', 'delete', jobs[0]!.name], { env });
    expect(del.code).toBe(0);
    const missing = await runCli(['jobs', 'get', jobs[0]!.name], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).not.toContain('    at ');
  });
});
