/**
 * Application Default Credentials end to end, without network: a real
 * google-auth-library reads GOOGLE_APPLICATION_CREDENTIALS (an
 * `external_account` file, the workload-identity shape CI systems and pods
 * use, whose `token_url` may name any host), exchanges the subject token at a
 * loopback token endpoint, and the run's Vertex and Cloud Storage calls carry
 * the token it got. A 401 makes the backend ask ADC again (a second
 * exchange); the token never shows in an error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator/index.js';
import { geminiBatch } from '../src/index.js';
import { collect, records } from './helpers/records.js';

const SUBJECT = 'subject-token-from-the-ci-provider';

let dir: string;
let emu: RunningEmulator | undefined;
let sts: Server | undefined;
const saved = { ...process.env };
/** Token exchanges the endpoint answered, and the form fields of each. */
const exchanges: Record<string, string>[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gb-adc-'));
  exchanges.length = 0;
});
afterEach(async () => {
  await emu?.close();
  await new Promise<void>((r) => (sts ? sts.close(() => r()) : r()));
  emu = undefined;
  sts = undefined;
  process.env = { ...saved };
  rmSync(dir, { recursive: true, force: true });
});

/** An STS-shaped token endpoint on loopback: it answers an RFC 8693 exchange of the right subject token with a new access token. */
async function startTokenEndpoint(): Promise<string> {
  sts = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      if (req.method !== 'POST' || form.grant_type !== 'urn:ietf:params:oauth:grant-type:token-exchange' || form.subject_token !== SUBJECT) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant' }));
        return;
      }
      exchanges.push(form);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: `adc-access-token-${exchanges.length}`, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  await new Promise<void>((r) => sts!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(sts.address() as AddressInfo).port}/v1/token`;
}

async function setUp(expiredTokenResponses = 0): Promise<void> {
  const tokenUrl = await startTokenEndpoint();
  emu = await startEmulator({ port: 0, pendingMs: 5, runningMs: 20, vertexQueueMs: 5, expiredTokenResponses });
  const subjectFile = join(dir, 'subject.jwt');
  writeFileSync(subjectFile, SUBJECT);
  const credentials = join(dir, 'adc.json');
  writeFileSync(
    credentials,
    JSON.stringify({
      type: 'external_account',
      audience: '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/providers/runner',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: tokenUrl,
      credential_source: { file: subjectFile },
    }),
  );
  delete process.env.GOOGLE_OAUTH_ACCESS_TOKEN;
  process.env.GOOGLE_APPLICATION_CREDENTIALS = credentials;
  process.env.GOOGLE_VERTEX_BASE_URL = emu.url;
  process.env.STORAGE_EMULATOR_HOST = emu.url;
}

const options = () => ({
  model: 'gemini-2.5-flash',
  backend: 'vertex' as const,
  vertex: { project: 'p1', location: 'us-central1', bucket: 'gs://bkt/adc' },
  pollInterval: { initialMs: 5, maxMs: 20 },
  adoptWindowMs: 2_000,
});

describe('Vertex with Application Default Credentials (google-auth-library, external_account file)', () => {
  it('runs on the token ADC exchanged for, fetched once for the whole run', async () => {
    await setUp();
    const out = await collect(records(6, (i) => `question ${i}`), geminiBatch(options()));
    expect(out.map((r) => r.key)).toEqual(Array.from({ length: 6 }, (_, i) => `k${i}`));
    expect(out.every((r) => 'response' in r)).toBe(true);
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]!.scope).toContain('https://www.googleapis.com/auth/cloud-platform');
  });

  it('a 401 asks ADC again (a second exchange), and the run goes on', async () => {
    await setUp(1);
    const out = await collect(records(3, (i) => `question ${i}`), geminiBatch(options()));
    expect(out.every((r) => 'response' in r)).toBe(true);
    expect(exchanges).toHaveLength(2);
  });

  it('a token refused every time fails the run once, and no token ADC gave shows in the error', async () => {
    await setUp(1_000);
    const err = await collect(records(2, (i) => `question ${i}`), geminiBatch(options())).then(
      () => undefined,
      (e: unknown) => e as Error & { httpStatus?: number },
    );
    expect(err?.httpStatus).toBe(401);
    const seen = `${err?.message} ${err?.stack} ${JSON.stringify(err)} ${String((err?.cause as Error | undefined)?.message)}`;
    for (let i = 1; i <= exchanges.length; i++) expect(seen).not.toContain(`adc-access-token-${i}`);
    expect(seen).not.toContain(SUBJECT);
  });
});
