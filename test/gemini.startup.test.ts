/**
 * Start-up cost (issue 12): a client loads undici only at its first request,
 * and then only the Agent and `request`, not the package index (fetch,
 * WebSocket, caches, mocks). Checked in a fresh process, where nothing else
 * has loaded undici.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

const PROBE = `
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { createGeminiClient } from ${JSON.stringify(join(ROOT, 'src/backends/gemini/client.ts'))};
const cache = createRequire(import.meta.url).cache;
const loaded = () => Object.keys(cache).filter((k) => k.includes('/node_modules/undici/')).map((k) => k.split('/node_modules/undici/')[1]);
const server = createServer((_q, r) => r.end('{"name":"files/a"}'));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const client = createGeminiClient({ baseUrl: 'http://127.0.0.1:' + server.address().port, apiKey: 'k' });
const atCreate = loaded();
const file = await client.files.get('a');
const afterRequest = loaded();
await client.close();
server.close();
console.log(JSON.stringify({ atCreate, afterRequest, name: file.name }));
`;

it('undici is loaded at the first request, without its index', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'api-startup-'));
  try {
    const script = join(dir, 'probe.mts');
    await writeFile(script, PROBE);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(err).toBe('');
    expect(code).toBe(0);
    const r = JSON.parse(out) as { atCreate: string[]; afterRequest: string[]; name: string };
    expect(r.name).toBe('files/a');
    expect(r.atCreate).toEqual([]);
    expect(r.afterRequest).toContain('lib/dispatcher/agent.js');
    expect(r.afterRequest).not.toContain('index.js');
    expect(r.afterRequest.some((k) => k.startsWith('lib/web/'))).toBe(false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 30_000);
