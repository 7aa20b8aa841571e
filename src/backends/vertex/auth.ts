/**
 * Where the bearer token of Vertex AI and Cloud Storage comes from: the
 * caller's `getAccessToken()`, else a fixed `GOOGLE_OAUTH_ACCESS_TOKEN`
 * (scripts, emulators), else Application Default Credentials through
 * google-auth-library, loaded only here and only when first asked (a run on
 * the Developer API never loads it). A 401 asks for a fresh token once
 * (`refresh`). The token is only ever sent as the Authorization header; the
 * HTTP layer scrubs it from every error (`current()` says what to scrub).
 */
import { GeminiBatchError } from '../../errors.js';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export type GetAccessToken = () => Promise<string> | string;

export interface TokenSource {
  /** A token (cached after the first call). */
  get(): Promise<string>;
  /** A fresh one, after the service answered 401 to the last. */
  refresh(): Promise<string>;
  /** The token in use, for redaction; undefined before the first get(). */
  current(): string | undefined;
}

/**
 * The token source from the options, then the environment, then ADC.
 * `projectId`: the run's project, given to ADC so it never looks one up
 * (for workload-identity credentials that lookup is a Cloud Resource
 * Manager call the run's account may not be allowed to make).
 */
export function tokenSource(getAccessToken?: GetAccessToken, env: NodeJS.ProcessEnv = process.env, projectId?: string): TokenSource {
  const fixed = env.GOOGLE_OAUTH_ACCESS_TOKEN?.trim();
  const fetchToken: (fresh: boolean) => Promise<string> = getAccessToken
    ? async () => checked(await getAccessToken(), 'getAccessToken()')
    : fixed
      ? async () => fixed
      : adcToken(projectId);
  let token: string | undefined;
  let pending: Promise<string> | undefined;
  const load = (fresh: boolean) =>
    (pending ??= fetchToken(fresh)
      .then((t) => (token = t))
      .finally(() => (pending = undefined)));
  return {
    get: async () => token ?? load(false),
    refresh: () => load(true),
    current: () => token,
  };
}

function checked(t: unknown, from: string): string {
  if (typeof t !== 'string' || t.trim() === '') throw new GeminiBatchError('ERR_INVALID_OPTIONS', `vertex: ${from} gave no access token`);
  return t.trim();
}

/** Application Default Credentials: a client made once, asked again (it refreshes an expired token itself). */
function adcToken(projectId: string | undefined): (fresh: boolean) => Promise<string> {
  let client: Promise<{ getAccessToken(): Promise<{ token?: string | null }> }> | undefined;
  const open = async () => {
    const { GoogleAuth } = await import('google-auth-library');
    return new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE], ...(projectId ? { projectId } : {}) }).getClient();
  };
  return async (fresh) => {
    // After a 401 the cached client may hold a revoked token: start from the credentials again.
    if (fresh || !client) client = open();
    try {
      const { token } = await (await client).getAccessToken();
      return checked(token, 'Application Default Credentials');
    } catch (err) {
      client = undefined;
      if (err instanceof GeminiBatchError) throw err;
      throw new GeminiBatchError(
        'ERR_INVALID_OPTIONS',
        'vertex: no Google Cloud credentials (run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or give GOOGLE_OAUTH_ACCESS_TOKEN)',
        { cause: err instanceof Error ? new Error(err.message.slice(0, 300)) : undefined },
      );
    }
  };
}
