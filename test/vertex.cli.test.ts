/**
 * `gemini-batch run --backend vertex` as a real process: against an emulator
 * in the test process (Vertex jobs and Cloud Storage on one port) and against
 * the embedded one (--emulator); a missing bucket or a Vertex flag without
 * --backend vertex is a usage error in one sentence.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/emulator/index.js';
import { batchJsonl, cliEnv, collect, emulator, readLines, runCli, spawnCli, tempDir } from './cli.helpers.js';
import { startEmulator } from '../src/emulator/index.js';

let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  emu = await emulator({ vertexQueueMs: 5 });
  dir = tempDir('gb-vertex-cli-');
});
afterAll(() => emu.close());

const vertexEnv = () =>
  cliEnv({ GOOGLE_VERTEX_BASE_URL: emu.url, STORAGE_EMULATOR_HOST: emu.url, GOOGLE_OAUTH_ACCESS_TOKEN: 'cli-test-token', GOOGLE_CLOUD_PROJECT: undefined });

describe('gemini-batch run --backend vertex', () => {
  it('writes one result per record, in input order, through Vertex jobs and Cloud Storage', async () => {
    const input = join(dir, 'in.jsonl');
    const out = join(dir, 'out.jsonl');
    writeFileSync(input, batchJsonl(30));
    const r = await runCli(
      ['run', input, '-m', 'gemini-2.5-flash', '-o', out, '--backend', 'vertex', '--project', 'p1', '--location', 'us-central1', '--bucket', 'gs://bkt/cli', '--max-requests', '12', '--poll-interval', '20', '-q'],
      { env: vertexEnv() },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = readLines(out);
    expect(lines.map((l) => l.key)).toEqual(Array.from({ length: 30 }, (_, i) => `k${i}`));
    expect(lines.every((l) => l.response !== undefined)).toBe(true);
    expect(emu.counters().requestsByRoute['vertex.create']).toBe(3);
  });

  it('runs against the embedded emulator with --emulator', async () => {
    const out = join(dir, 'emu-out.jsonl');
    const r = await runCli(['run', '-', '-m', 'gemini-2.5-flash', '-o', out, '--backend', 'vertex', '--emulator', '-q'], { env: cliEnv(), stdin: batchJsonl(5) });
    expect(r.code).toBe(0);
    expect(readLines(out).map((l) => l.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
  });

  it('kill -9 after the jobs were created, then the same command: the jobs are re-attached, none created twice', async () => {
    const slow = await startEmulator({ port: 0, pendingMs: 10, runningMs: 20, vertexQueueMs: 1_500 });
    try {
      const env = cliEnv({ GOOGLE_VERTEX_BASE_URL: slow.url, STORAGE_EMULATOR_HOST: slow.url, GOOGLE_OAUTH_ACCESS_TOKEN: 'cli-test-token' });
      const input = join(dir, 'kill-in.jsonl');
      const out = join(dir, 'kill-out.jsonl');
      writeFileSync(input, batchJsonl(20));
      const args = ['run', input, '-m', 'gemini-2.5-flash', '-o', out, '--backend', 'vertex', '--project', 'p1', '--bucket', 'gs://bkt/kill', '--max-requests', '10', '--poll-interval', '20', '-q'];
      const child = spawnCli(args, env);
      const done = collect(child);
      while ((slow.counters().requestsByRoute['vertex.create'] ?? 0) < 2) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGKILL');
      await done;
      const again = await runCli(args, { env });
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      expect(readLines(out).map((l) => l.key)).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`));
      expect(readLines(out).every((l) => l.response !== undefined)).toBe(true);
      expect(slow.counters().requestsByRoute['vertex.create']).toBe(2);
    } finally {
      await slow.close();
    }
  });

  it('jobs and files with --backend vertex list, show and delete what a run left (--no-cleanup)', async () => {
    const own = await startEmulator({ port: 0, pendingMs: 10, runningMs: 20, vertexQueueMs: 5 });
    try {
      const env = cliEnv({ GOOGLE_VERTEX_BASE_URL: own.url, STORAGE_EMULATOR_HOST: own.url, GOOGLE_OAUTH_ACCESS_TOKEN: 'cli-test-token' });
      const out = join(dir, 'keep-out.jsonl');
      const v = ['--backend', 'vertex', '--project', 'p1'];
      const run = await runCli(['run', '-', '-m', 'gemini-2.5-flash', '-o', out, ...v, '--bucket', 'gs://bkt/keep', '--no-cleanup', '--poll-interval', '20', '-q'], { env, stdin: batchJsonl(3) });
      expect(run.code).toBe(0);
      const jobs = await runCli(['jobs', 'list', ...v, '--json'], { env });
      const listed = jobs.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; state: string });
      expect(listed).toHaveLength(1);
      expect(listed[0]!.state).toBe('SUCCEEDED');
      const got = await runCli(['jobs', 'get', listed[0]!.name, ...v, '--raw'], { env });
      expect((JSON.parse(got.stdout) as { labels: Record<string, string> }).labels.gbs_part).toBe('0');
      const files = await runCli(['files', 'list', ...v, '--bucket', 'gs://bkt/keep', '--json'], { env });
      const uris = files.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { uri: string }).uri);
      expect(uris.some((u) => /^gs:\/\/bkt\/keep\/[^/]+\/0\.jsonl$/.test(u))).toBe(true);
      expect(uris.some((u) => /\/out\/0\/prediction-model-[^/]+\/predictions\.jsonl$/.test(u))).toBe(true);
      const input = uris.find((u) => u.endsWith('/0.jsonl'))!;
      expect((await runCli(['files', 'delete', input, '--backend', 'vertex'], { env })).stdout.trim()).toBe(`deleted ${input}`);
      const left = await runCli(['files', 'list', ...v, '--bucket', 'gs://bkt/keep', '--json'], { env });
      expect(left.stdout.trim().split('\n')).toHaveLength(uris.length - 1);
      expect((await runCli(['jobs', 'delete', listed[0]!.name, ...v], { env })).stdout.trim()).toBe(`deleted ${listed[0]!.name}`);
    } finally {
      await own.close();
    }
  });

  it('names a missing bucket, and a Vertex flag without --backend vertex, in one sentence', async () => {
    const out = join(dir, 'never.jsonl');
    const noBucket = await runCli(['run', '-', '-m', 'm', '-o', out, '--backend', 'vertex', '--project', 'p1'], { env: vertexEnv(), stdin: batchJsonl(1) });
    expect(noBucket.code).toBe(2);
    expect(noBucket.stderr).toMatch(/--backend vertex needs --bucket gs:\/\/BUCKET\/PREFIX/);
    const stray = await runCli(['run', '-', '-m', 'm', '-o', out, '--bucket', 'gs://bkt/x'], { env: vertexEnv(), stdin: batchJsonl(1) });
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/--bucket is for Vertex AI: add --backend vertex/);
  });
});
