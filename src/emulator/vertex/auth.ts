/**
 * OAuth bearer tokens, as Vertex AI and Cloud Storage take them: any token is
 * good (the emulator has no identity service), an API key is not. The
 * `expiredTokenResponses` knob answers the next N requests that carry a token
 * with 401, as the services do once a token has expired: a client must fetch a
 * fresh token and retry.
 */
import type { IncomingMessage } from 'node:http';

export type AuthProblem = 'missing' | 'api-key' | 'expired';

export class BearerAuth {
  private expiredLeft: number;

  constructor(expiredTokenResponses: number) {
    this.expiredLeft = expiredTokenResponses;
  }

  /** The problem with this request's credentials, or undefined. `required`: Vertex yes, the bucket no (its client sends none to an emulator). */
  check(req: IncomingMessage, required: boolean): AuthProblem | undefined {
    const raw = req.headers.authorization;
    const token = /^Bearer\s+(\S+)$/i.exec(Array.isArray(raw) ? (raw[0] ?? '') : (raw ?? ''))?.[1];
    if (token === undefined) {
      if (!required) return undefined;
      return req.headers['x-goog-api-key'] !== undefined || /[?&]key=/.test(req.url ?? '') ? 'api-key' : 'missing';
    }
    if (this.expiredLeft > 0) {
      this.expiredLeft--;
      return 'expired';
    }
    return undefined;
  }
}

/** The services' 401 texts. */
export function authMessage(p: AuthProblem): string {
  switch (p) {
    case 'missing':
      return 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
    case 'api-key':
      return 'API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials that assert a principal.';
    case 'expired':
      return 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
  }
}

export const WWW_AUTHENTICATE = { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' };
