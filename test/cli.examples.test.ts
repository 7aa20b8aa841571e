/**
 * The examples a new user runs first, as they run them: `npm start` is
 * `tsx examples/quickstart.ts`, here with no API key so it uses the embedded
 * emulator.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, ROOT } from './cli.helpers.js';

/** Exactly what `npm start` runs (npx tsx), or for the other examples node with the tsx loader. */
function run(script: string, viaNpx = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const path = join(ROOT, 'examples', script);
  const [cmd, args] = viaNpx ? ['npx', ['--no', 'tsx', path]] : [process.execPath, ['--import', 'tsx', path]];
  const child = spawn(cmd, args, { cwd: ROOT, env: cliEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples', () => {
  it('quickstart (npm start) runs against the embedded emulator and writes its results', async () => {
    const out = join(ROOT, 'examples', 'out', 'quickstart.results.jsonl');
    rmSync(out, { force: true });
    const started = Date.now();
    const r = await run('quickstart.ts', true);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.stdout).toContain('embedded emulator');
    expect(r.stdout).toMatch(/done: 3000 results \(3000 ok, 0 errors\)/);
    expect(existsSync(out)).toBe(true);
    const keys = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
    expect(keys).toEqual(Array.from({ length: 3000 }, (_, i) => `q${i}`));
  });

  it('the ETL, embeddings and unbounded examples run to completion', async () => {
    const [etl, embeddings, unbounded] = await Promise.all([run('etl.ts'), run('embeddings.ts'), run('unbounded.ts')]);
    expect(etl.stderr).toBe('');
    expect(etl.stdout).toMatch(/400 rows enriched \(0 without a tagline\)/);
    expect(embeddings.stderr).toBe('');
    expect(embeddings.stdout).toMatch(/8 vectors of 256 dimensions/);
    expect(unbounded.stderr).toBe('');
    expect(unbounded.stdout).toMatch(/unbounded: \d+ results/);
    expect([etl.code, embeddings.code, unbounded.code]).toEqual([0, 0, 0]);
  });
});
