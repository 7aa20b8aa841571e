/**
 * A grown INPUT pays only for what is new (issue 20, item 4): a finished
 * 12,000-record run, 1,000 lines appended to its INPUT, the same command
 * again: batches only for the 1,000, OUT 13,000 lines in order (exactly what
 * one run over the whole INPUT writes). An INPUT changed within what was
 * answered is refused in one sentence naming --fresh.
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, emuEnv, emulator, runCli, tempDir } from './cli.helpers.js';

const flags = ['-m', 'gemini-2.5-flash', '--mode', 'file', '--max-requests', '5000', '--poll-interval', '20', '--adopt-window', '1000', '--json'];

let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  emu = await emulator();
  dir = tempDir('gb-cli-grow-');
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

describe('gemini-batch run on a grown INPUT', () => {
  it('sends only the appended records and appends their results to OUT', async () => {
    const input = join(dir, 'daily.jsonl');
    const out = join(dir, 'daily.out.jsonl');
    writeFileSync(input, batchJsonl(12_000));
    const first = await runCli(['run', input, '-o', out, ...flags], { env: emuEnv(emu) });
    expect(first.code, first.stderr).toBe(0);
    expect(lines(out)).toHaveLength(12_000);

    appendFileSync(input, batchJsonl(1_000, 12_000));
    const before = emu.counters();
    const second = await runCli(['run', input, '-o', out, ...flags], { env: emuEnv(emu) });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/INPUT grew since run gb-\w+ completed: its 12000 results stay in .*daily\.out\.jsonl; sending only the records after them/);
    const after = emu.counters();
    // One batch, of the 1,000 new requests only.
    expect(after.batchesCreated - before.batchesCreated).toBe(1);
    expect((after.resultLines ?? 0) - (before.resultLines ?? 0)).toBe(1_000);
    const got = lines(out);
    expect(got).toHaveLength(13_000);
    expect(got.map((l) => (JSON.parse(l) as { key: string }).key)).toEqual(Array.from({ length: 13_000 }, (_, i) => `k${i}`));

    // What one run over the grown INPUT writes (the emulator orders a line's members per batch, so as values).
    const reference = join(dir, 'reference.jsonl');
    expect((await runCli(['run', input, '-o', reference, ...flags], { env: emuEnv(emu) })).code).toBe(0);
    expect(got.map((l) => JSON.parse(l) as unknown)).toEqual(lines(reference).map((l) => JSON.parse(l) as unknown));

    // The same command once more: nothing new, nothing to do.
    const third = await runCli(['run', input, '-o', out, ...flags], { env: emuEnv(emu) });
    expect(third.code).toBe(0);
    expect(third.stderr).toMatch(/nothing to do: run gb-\w+ already wrote all 13000 results/);
  });

  it('refuses an INPUT changed within what the finished run answered, naming --fresh', async () => {
    const input = join(dir, 'edited.jsonl');
    const out = join(dir, 'edited.out.jsonl');
    writeFileSync(input, batchJsonl(30));
    expect((await runCli(['run', input, '-o', out, ...flags], { env: emuEnv(emu) })).code).toBe(0);
    const created = emu.counters().batchesCreated;
    writeFileSync(input, batchJsonl(30).replace('prompt 3:', 'prompt 3 (edited):') + batchJsonl(5, 30));
    const again = await runCli(['run', input, '-o', out, ...flags], { env: emuEnv(emu) });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/INPUT changed within the \d+ bytes whose 30 records run gb-\w+ already answered.*add --fresh to run all of INPUT again/);
    expect(emu.counters().batchesCreated).toBe(created);
    expect(lines(out)).toHaveLength(30);
  });
});
