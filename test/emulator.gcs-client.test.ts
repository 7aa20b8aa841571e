/**
 * The official Cloud Storage client (@google-cloud/storage 7), unchanged,
 * against the emulated bucket: one-shot and resumable uploads, metadata,
 * list with prefix / delimiter / pages, validated and ranged downloads,
 * delete, and create-only uploads (ifGenerationMatch: 0 → 412). The client
 * checks crc32c/md5 both ways, so a wrong checksum here fails the test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRC32C, Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';

let emu: RunningEmulator;
let dir: string;
/** Through apiEndpoint: the client adds /storage/v1 to every call. */
let viaEndpoint: Storage;
/** Through STORAGE_EMULATOR_HOST: metadata, list, download and delete go without /storage/v1. */
let viaEnvHost: Storage;

const crc32c = (b: Buffer): string => {
  const c = new CRC32C();
  c.update(b);
  return c.toString();
};
/** The HTTP status a client call failed with (the one-shot path says `code`, the resumable one `status`). */
async function statusOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    const e = err as { code?: unknown; status?: unknown };
    return typeof e.code === 'number' ? e.code : typeof e.status === 'number' ? e.status : undefined;
  }
}
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('base64');

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'emu-gcs-'));
  viaEndpoint = new Storage({ apiEndpoint: emu.url, projectId: 'test-project' });
  const saved = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = emu.url;
  try {
    viaEnvHost = new Storage({ projectId: 'test-project' });
  } finally {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  }
});

afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['apiEndpoint', () => viaEndpoint],
  ['STORAGE_EMULATOR_HOST', () => viaEnvHost],
])('@google-cloud/storage through %s', (label, client) => {
  const bucket = (): ReturnType<Storage['bucket']> => client().bucket(`bucket-${label.toLowerCase().replace(/_/g, '-')}`);

  it('uploads a small file in one multipart request and reads its metadata back', async () => {
    const data = Buffer.from('{"a":1}\n{"b":2}\n');
    const path = join(dir, `small-${label}.jsonl`);
    writeFileSync(path, data);
    const [file] = await bucket().upload(path, { destination: 'in/small.jsonl', contentType: 'application/jsonl' });
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({ name: 'in/small.jsonl', contentType: 'application/jsonl', md5Hash: md5(data), crc32c: crc32c(data) });
    expect(String(meta.size)).toBe(String(data.length));
    expect(meta.generation).toMatch(/^\d{16}$/);
  });

  it('uploads resumably in 256 KiB pieces and downloads with checksum validation', async () => {
    const data = randomBytes(700 * 1024 + 17);
    const file = bucket().file('in/big.bin');
    await file.save(data, { resumable: true, chunkSize: 256 * 1024, validation: 'crc32c' });
    const [meta] = await file.getMetadata();
    expect(meta.crc32c).toBe(crc32c(data));
    expect(meta.md5Hash).toBe(md5(data));
    const [back] = await file.download({ validation: 'crc32c' });
    expect(back.equals(data)).toBe(true);
    const [back5] = await file.download({ validation: 'md5' });
    expect(back5.equals(data)).toBe(true);
  });

  it('uploads resumably in one request of unknown length', async () => {
    const data = randomBytes(300 * 1024);
    const file = bucket().file('in/stream.bin');
    await new Promise<void>((resolve, reject) => {
      const ws = file.createWriteStream({ resumable: true, validation: 'crc32c' });
      ws.on('error', reject).on('finish', resolve);
      ws.end(data);
    });
    const [back] = await file.download();
    expect(back.equals(data)).toBe(true);
  });

  it('downloads from an offset (a ranged read)', async () => {
    const file = bucket().file('in/big.bin');
    const [whole] = await file.download();
    const [tail] = await file.download({ start: 1000 });
    expect(tail.equals(whole.subarray(1000))).toBe(true);
  });

  it('lists with prefix, delimiter and pages', async () => {
    const b = bucket();
    for (const n of ['list/a.jsonl', 'list/b.jsonl', 'list/c.jsonl', 'list/sub/x.jsonl', 'list/sub/y.jsonl', 'other.jsonl']) {
      await b.file(n).save(Buffer.from(n), { resumable: false });
    }
    const [files, , raw] = await b.getFiles({ prefix: 'list/', delimiter: '/', autoPaginate: false });
    expect(files.map((f) => f.name)).toEqual(['list/a.jsonl', 'list/b.jsonl', 'list/c.jsonl']);
    expect((raw as { prefixes?: string[] }).prefixes).toEqual(['list/sub/']);
    const [all] = await b.getFiles({ prefix: 'list/', maxResults: 2 });
    expect(all.map((f) => f.name)).toEqual(['list/a.jsonl', 'list/b.jsonl']);
    const [paged] = await b.getFiles({ prefix: 'list/', autoPaginate: true, maxApiCalls: 10, pageToken: undefined, maxResults: undefined });
    expect(paged.map((f) => f.name)).toEqual(['list/a.jsonl', 'list/b.jsonl', 'list/c.jsonl', 'list/sub/x.jsonl', 'list/sub/y.jsonl']);
    const [first, next] = await b.getFiles({ prefix: 'list/', maxResults: 2, autoPaginate: false });
    expect(first).toHaveLength(2);
    const [second] = await b.getFiles({ ...(next as object), autoPaginate: false });
    expect(second.map((f) => f.name)).toEqual(['list/c.jsonl', 'list/sub/x.jsonl']);
  });

  it('refuses a create-only upload over an existing object with 412, both ways', async () => {
    const file = bucket().file('in/once.txt');
    await file.save(Buffer.from('first'), { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    expect(await statusOf(file.save(Buffer.from('second'), { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }))).toBe(412);
    // The resumable path rejects with the session-start response (status, not code).
    expect(await statusOf(file.save(Buffer.from('third'), { resumable: true, preconditionOpts: { ifGenerationMatch: 0 } }))).toBe(412);
    const [back] = await file.download();
    expect(back.toString()).toBe('first');
  });

  it('deletes, after which the object is gone', async () => {
    const file = bucket().file('in/small.jsonl');
    await file.delete();
    const [exists] = await file.exists();
    expect(exists).toBe(false);
    await expect(file.delete()).rejects.toMatchObject({ code: 404 });
  });
});
