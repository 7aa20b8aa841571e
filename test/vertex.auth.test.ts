/**
 * Where the Vertex token comes from: the caller's getAccessToken first, then
 * GOOGLE_OAUTH_ACCESS_TOKEN, then Application Default Credentials (loaded
 * only when asked; no credentials is one sentence naming the fixes); a
 * refresh asks the source again; concurrent first calls share one fetch.
 */
import { describe, expect, it } from 'vitest';
import { tokenSource } from '../src/backends/vertex/auth.js';

describe('tokenSource', () => {
  it('takes the caller’s getAccessToken over the environment, and asks it again on refresh', async () => {
    let n = 0;
    const src = tokenSource(async () => `caller-token-${++n}`, { GOOGLE_OAUTH_ACCESS_TOKEN: 'env-token' });
    expect(src.current()).toBeUndefined();
    const [a, b] = await Promise.all([src.get(), src.get()]);
    expect([a, b]).toEqual(['caller-token-1', 'caller-token-1']);
    expect(await src.refresh()).toBe('caller-token-2');
    expect(await src.get()).toBe('caller-token-2');
    expect(src.current()).toBe('caller-token-2');
  });

  it('uses GOOGLE_OAUTH_ACCESS_TOKEN without a caller’s function', async () => {
    expect(await tokenSource(undefined, { GOOGLE_OAUTH_ACCESS_TOKEN: ' env-token \n' }).get()).toBe('env-token');
  });

  it('an empty token from the caller is an error in one sentence', async () => {
    await expect(tokenSource(() => '  ', {}).get()).rejects.toThrow(/^vertex: getAccessToken\(\) gave no access token$/);
  });

  it('without either, Application Default Credentials; none found is one sentence naming the fixes', async () => {
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/gb-test-credentials.json';
    try {
      await expect(tokenSource(undefined, {}).get()).rejects.toThrow(/no Google Cloud credentials \(run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or give GOOGLE_OAUTH_ACCESS_TOKEN\)/);
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
    }
  });
});
