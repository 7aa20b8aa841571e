/**
 * The Cloud Storage JSON API subset over raw HTTP: the resumable protocol
 * step by step (308 + Range, status query, an overlapping retry, the last
 * piece), X-Goog-Hash checked on upload, create-only uploads, ranged
 * downloads and the gcsCutDownloads knob, list pages with a delimiter, both
 * path forms.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';
import { describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/emulator/index.js';
import { call } from './emulator.helpers.js';

const KIB256 = 256 * 1024;

async function withEmu(opts: EmulatorOptions, fn: (emu: RunningEmulator) => Promise<void>): Promise<void> {
  const emu = await startEmulator({ port: 0, ...opts });
  try {
    await fn(emu);
  } finally {
    await emu.close();
  }
}

const crc32c = (b: Buffer): string => {
  const c = new CRC32C();
  c.update(b);
  return c.toString();
};
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('base64');

async function startSession(base: string, name: string, size: number | undefined, query = ''): Promise<{ status: number; location: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-upload-content-type': 'application/jsonl' };
  if (size !== undefined) headers['x-upload-content-length'] = String(size);
  const r = await call('POST', `${base}/upload/storage/v1/b/bk/o?uploadType=resumable&name=${encodeURIComponent(name)}${query}`, { headers, body: '{}' });
  return { status: r.status, location: String(r.headers.location ?? '') };
}

describe('resumable uploads, step by step', () => {
  it('308 with Range until the last piece; a status query; an overlapping retry; then 200 with the object', () =>
    withEmu({}, async (emu) => {
      const data = randomBytes(2 * KIB256 + 1000);
      const { status, location } = await startSession(emu.url, 'dir/a b.jsonl', data.length);
      expect(status).toBe(200);
      expect(location).toMatch(/\/upload\/storage\/v1\/b\/bk\/o\?uploadType=resumable&name=dir%2Fa%20b\.jsonl&upload_id=/);

      const q0 = await call('PUT', location, { headers: { 'content-range': `bytes */${data.length}` } });
      expect(q0.status).toBe(308);
      expect(q0.headers.range).toBeUndefined();

      const p1 = await call('PUT', location, { headers: { 'content-range': `bytes 0-${KIB256 - 1}/*` }, body: data.subarray(0, KIB256) });
      expect(p1.status).toBe(308);
      expect(p1.headers.range).toBe(`bytes=0-${KIB256 - 1}`);

      // A retry of the first piece plus the second (the client did not see the 308): the overlap is skipped.
      const p2 = await call('PUT', location, { headers: { 'content-range': `bytes 0-${2 * KIB256 - 1}/*` }, body: data.subarray(0, 2 * KIB256) });
      expect(p2.status).toBe(308);
      expect(p2.headers.range).toBe(`bytes=0-${2 * KIB256 - 1}`);

      const q1 = await call('PUT', location, { headers: { 'content-range': 'bytes */*' } });
      expect(q1.status).toBe(308);
      expect(q1.headers.range).toBe(`bytes=0-${2 * KIB256 - 1}`);

      // A gap is refused.
      const gap = await call('PUT', location, { headers: { 'content-range': `bytes ${2 * KIB256 + 10}-${data.length - 1}/${data.length}` }, body: data.subarray(2 * KIB256 + 10) });
      expect(gap.status).toBe(400);

      const last = await call('PUT', location, {
        headers: { 'content-range': `bytes ${2 * KIB256}-${data.length - 1}/${data.length}`, 'x-goog-hash': `crc32c=${crc32c(data)},md5=${md5(data)}` },
        body: data.subarray(2 * KIB256),
      });
      expect(last.status).toBe(200);
      expect(last.json()).toMatchObject({ name: 'dir/a b.jsonl', bucket: 'bk', size: String(data.length), crc32c: crc32c(data), md5Hash: md5(data), contentType: 'application/jsonl' });

      // The last piece sent again (its answer lost): the same object.
      const again = await call('PUT', location, { headers: { 'content-range': `bytes ${2 * KIB256}-${data.length - 1}/${data.length}` }, body: data.subarray(2 * KIB256) });
      expect(again.status).toBe(200);
      expect(again.json().generation).toBe(last.json().generation);
    }));

  it('a last piece whose X-Goog-Hash does not match the bytes is refused and stores nothing', () =>
    withEmu({}, async (emu) => {
      const data = Buffer.from('hello\n');
      const { location } = await startSession(emu.url, 'h.txt', data.length);
      const r = await call('PUT', location, { headers: { 'content-range': `bytes 0-5/6`, 'x-goog-hash': `crc32c=${crc32c(Buffer.from('other'))}` }, body: data });
      expect(r.status).toBe(400);
      expect((await call('GET', `${emu.url}/storage/v1/b/bk/o/h.txt`)).status).toBe(404);
    }));

  it('ifGenerationMatch=0: refused with 412 at session start and for a media upload when the object exists', () =>
    withEmu({}, async (emu) => {
      const up = (body: string): Promise<{ status: number }> =>
        call('POST', `${emu.url}/upload/storage/v1/b/bk/o?uploadType=media&name=once&ifGenerationMatch=0`, { body });
      expect((await up('one')).status).toBe(200);
      expect((await up('two')).status).toBe(412);
      expect((await startSession(emu.url, 'once', 3, '&ifGenerationMatch=0')).status).toBe(412);
      const body = await call('GET', `${emu.url}/storage/v1/b/bk/o/once?alt=media`);
      expect(body.text).toBe('one');
    }));

  it('a session that another upload beat to a create-only name fails at its last piece with 412', () =>
    withEmu({}, async (emu) => {
      const { location } = await startSession(emu.url, 'race', 3, '&ifGenerationMatch=0');
      await call('POST', `${emu.url}/upload/storage/v1/b/bk/o?uploadType=media&name=race`, { body: 'win' });
      const r = await call('PUT', location, { headers: { 'content-range': 'bytes 0-2/3' }, body: 'los' });
      expect(r.status).toBe(412);
      expect((await call('GET', `${emu.url}/b/bk/o/race?alt=media`)).text).toBe('win');
    }));
});

describe('downloads', () => {
  it('answers x-goog-hash and 206 for Range: bytes=n-; gcsCutDownloads cuts the first N mid-body, a ranged resume completes it', () =>
    withEmu({ gcsCutDownloads: 1 }, async (emu) => {
      const data = randomBytes(3 * 1024 * 1024);
      await call('POST', `${emu.url}/upload/storage/v1/b/bk/o?uploadType=media&name=big.bin`, { body: data });
      // The cut one: fewer bytes than its content-length, then the connection drops.
      const res = await fetch(`${emu.url}/download/storage/v1/b/bk/o/big.bin?alt=media`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-goog-hash')).toBe(`crc32c=${crc32c(data)},md5=${md5(data)}`);
      const got: Buffer[] = [];
      let size = 0;
      await expect(
        (async () => {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            got.push(Buffer.from(chunk));
            size += chunk.length;
          }
        })(),
      ).rejects.toThrow();
      expect(size).toBeGreaterThan(0);
      expect(size).toBeLessThan(data.length);
      const rest = await fetch(`${emu.url}/b/bk/o/big.bin?alt=media`, { headers: { range: `bytes=${size}-` } });
      expect(rest.status).toBe(206);
      expect(rest.headers.get('content-range')).toBe(`bytes ${size}-${data.length - 1}/${data.length}`);
      const whole = Buffer.concat([...got, Buffer.from(await rest.arrayBuffer())]);
      expect(whole.equals(data)).toBe(true);
      // Past the end: 416.
      expect((await call('GET', `${emu.url}/b/bk/o/big.bin?alt=media`, { headers: { range: `bytes=${data.length}-` } })).status).toBe(416);
    }));
});

describe('list and delete', () => {
  it('pages by maxResults over items and prefixes, on both path forms; delete answers 204 then 404', () =>
    withEmu({}, async (emu) => {
      for (const n of ['p/1', 'p/2', 'p/d/3', 'p/d/4', 'p/e/5', 'p/6', 'q']) {
        await call('POST', `${emu.url}/upload/storage/v1/b/bk/o?uploadType=media&name=${encodeURIComponent(n)}`, { body: n });
      }
      const seen: { items: string[]; prefixes: string[] } = { items: [], prefixes: [] };
      let token = '';
      let pages = 0;
      do {
        const base = pages % 2 === 0 ? `${emu.url}/storage/v1` : emu.url;
        const r = (await call('GET', `${base}/b/bk/o?prefix=p/&delimiter=/&maxResults=2${token ? `&pageToken=${token}` : ''}`)).json();
        seen.items.push(...((r.items ?? []) as { name: string }[]).map((i) => i.name));
        seen.prefixes.push(...((r.prefixes ?? []) as string[]));
        token = String(r.nextPageToken ?? '');
        pages++;
      } while (token);
      expect(seen).toEqual({ items: ['p/1', 'p/2', 'p/6'], prefixes: ['p/d/', 'p/e/'] });
      expect(pages).toBe(3);
      expect((await call('DELETE', `${emu.url}/b/bk/o/${encodeURIComponent('p/1')}`)).status).toBe(204);
      expect((await call('DELETE', `${emu.url}/storage/v1/b/bk/o/${encodeURIComponent('p/1')}`)).status).toBe(404);
    }));
});

describe('multipart/related bodies', () => {
  it('parse the same whatever the chunking, a delimiter split across chunks included', async () => {
    const { readMultipartRelated } = await import('../src/emulator/gcs/multipart.js');
    const data = Buffer.concat([randomBytes(5000), Buffer.from('\r\n--b0undar'), randomBytes(3000)]);
    const body = Buffer.concat([
      Buffer.from('--b0undary\r\nContent-Type: application/json\r\n\r\n{"name":"x","contentType":"text/plain"}\r\n--b0undary\r\nContent-Type: text/plain\r\n\r\n'),
      data,
      Buffer.from('\r\n--b0undary--\r\n'),
    ]);
    for (const size of [1, 7, 64, 100_000]) {
      async function* chunks(): AsyncIterable<Buffer> {
        for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
      }
      const got: Buffer[] = [];
      const head = await readMultipartRelated(chunks(), 'b0undary', async (c) => void got.push(Buffer.from(c)));
      expect(head).toEqual({ metadata: { name: 'x', contentType: 'text/plain' }, contentType: 'text/plain' });
      expect(Buffer.concat(got).equals(data)).toBe(true);
    }
  });
});
