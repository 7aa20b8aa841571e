/**
 * Plain-HTTP helpers for the emulator tests (no client of ours, no SDK):
 * what a hand-written REST caller would send.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { request } from 'undici';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

export async function call(
  method: string,
  url: string,
  opts: { body?: string | Buffer | NodeJS.ReadableStream; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const r = await request(url, {
    method: method as 'GET',
    headers: opts.headers,
    body: opts.body as string | Buffer | undefined,
  });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** Resumable start; returns the upload URL. */
export async function startUpload(base: string, size: number, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await call('POST', `${base}/upload/v1beta/files`, {
    headers: {
      'content-type': 'application/json',
      'x-goog-upload-protocol': 'resumable',
      'x-goog-upload-command': 'start',
      'x-goog-upload-header-content-length': String(size),
      'x-goog-upload-header-content-type': 'application/jsonl',
    },
    body: JSON.stringify({ file: { displayName: 'in', mimeType: 'application/jsonl', ...extra } }),
  });
  if (r.status !== 200) throw new Error(`start: ${r.status} ${r.text}`);
  return String(r.headers['x-goog-upload-url']);
}

/** Uploads a buffer or a file path in one finalizing piece; returns the file name (files/x). */
export async function uploadOnce(base: string, data: Buffer | string): Promise<string> {
  const size = typeof data === 'string' ? statSync(data).size : data.length;
  const url = await startUpload(base, size);
  const r = await call('POST', url, {
    headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0', 'content-length': String(size) },
    body: typeof data === 'string' ? createReadStream(data, { highWaterMark: 1 << 20 }) : data,
  });
  if (r.status !== 200) throw new Error(`upload: ${r.status} ${r.text}`);
  return (r.json().file as { name: string }).name;
}

export async function createFileBatch(base: string, fileName: string, displayName = 'job'): Promise<Reply> {
  return call('POST', `${base}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ batch: { displayName, inputConfig: { fileName } } }),
  });
}

export interface Operation {
  name: string;
  done?: boolean;
  error?: { code: number; message: string };
  metadata: {
    state: string;
    batchStats?: Record<string, string>;
    output?: { responsesFile?: string; inlinedResponses?: { inlinedResponses: Record<string, unknown>[] } };
  };
  response?: Record<string, unknown>;
}

export async function waitDone(base: string, name: string, timeoutMs = 60_000): Promise<Operation> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call('GET', `${base}/v1beta/${name}`);
    const op = r.json() as unknown as Operation;
    if (op.done) return op;
    if (Date.now() > deadline) throw new Error(`${name} still ${op.metadata.state}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

export async function resultLines(base: string, fileName: string): Promise<Record<string, unknown>[]> {
  const r = await call('GET', `${base}/download/v1beta/${fileName}:download?alt=media`);
  if (r.status !== 200) throw new Error(`download: ${r.status} ${r.text}`);
  return r.text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function jsonl(n: number, text = (i: number): string => `prompt ${i}`): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    s += JSON.stringify({ key: `k${i}`, request: { contents: [{ role: 'user', parts: [{ text: text(i) }] }] } }) + '\n';
  }
  return s;
}

/** Starts the emulator CLI in a child process; resolves with its URL once it prints `listening`. */
export async function spawnEmulator(flags: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/emulator-child.ts', '--port', '0', ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`emulator exited early (${code})`)));
    lines.once('line', (l) => {
      const m = /^listening (http:\/\/\S+)$/.exec(l);
      if (m) resolve(m[1]!);
      else reject(new Error(`unexpected first line: ${l}`));
    });
  });
  return { url, child };
}
