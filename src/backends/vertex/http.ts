/**
 * The Developer API's transport (undici, error mapping, retries) with an
 * OAuth bearer token instead of an API key: every request carries
 * `Authorization: Bearer …`, a 401 fetches a fresh token and sends once more,
 * and no error leaves here with the token in its text.
 */
import { GeminiApiError, redact } from '../../backend/service-error.js';
import { HttpTransport, type HttpRequest, type HttpResponse } from '../gemini/http.js';
import { DEFAULT_RETRY } from '../gemini/retry.js';
import type { RetryOptions } from '../gemini/types.js';
import type { TokenSource } from './auth.js';

/** A request whose body is made per attempt (a file piece is a stream: it cannot be sent twice). */
export type AuthedRequest = Omit<HttpRequest, 'body'> & { body?: HttpRequest['body'] | (() => HttpRequest['body']) };

export class VertexHttp {
  readonly transport: HttpTransport;
  private readonly tokens: TokenSource;

  constructor(tokens: TokenSource, retry: RetryOptions = {}, connections = 16) {
    const policy = { ...DEFAULT_RETRY };
    for (const [k, v] of Object.entries(retry)) if (v !== undefined) policy[k as keyof typeof policy] = v;
    // Absolute URLs only: the base URL and version are the callers' (two services, two hosts).
    this.transport = new HttpTransport({ apiKey: undefined, baseUrl: '', apiVersion: 'v1', connections, retry: policy });
    this.tokens = tokens;
  }

  /** One attempt, authenticated; a 401 is answered with one fresh token. */
  async send(req: AuthedRequest): Promise<HttpResponse> {
    const once = async (token: string) => {
      const body = typeof req.body === 'function' ? req.body() : req.body;
      return this.transport.send({ ...req, body, headers: { ...req.headers, authorization: `Bearer ${token}` } });
    };
    try {
      try {
        return await once(await this.tokens.get());
      } catch (err) {
        if (!(err instanceof GeminiApiError && err.httpStatus === 401)) throw err;
        return await once(await this.tokens.refresh());
      }
    } catch (err) {
      throw this.scrub(err);
    }
  }

  /** One attempt whose answer is JSON (an empty body reads as {}). */
  async json<T>(req: AuthedRequest): Promise<T> {
    const res = await this.send(req);
    const route = `${req.method} ${new URL(req.url).pathname}`;
    const text = await this.transport.readText(res.body, route, req.signal, Infinity);
    try {
      return (text.trim() === '' ? {} : JSON.parse(text)) as T;
    } catch {
      throw new GeminiApiError({ httpStatus: res.status, status: 'INVALID_RESPONSE', detail: 'answer is not JSON', route, retryable: false });
    }
  }

  /** Retried within the run's policy: idempotent calls on any retryable failure, others only when nothing was sent. */
  retry<T>(fn: () => Promise<T>, opts: { signal?: AbortSignal; idempotent?: boolean } = {}): Promise<T> {
    return this.transport.retry(fn, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.idempotent === false ? { idempotent: false } : {}) });
  }

  /** A mid-body failure as a GeminiApiError, scrubbed. */
  networkError(err: unknown, route: string): GeminiApiError {
    return this.scrub(this.transport.networkError(err, route)) as GeminiApiError;
  }

  /** The error without the token anywhere in its text. */
  scrub(err: unknown): unknown {
    const token = this.tokens.current();
    if (!(err instanceof GeminiApiError) || !token || !err.message.includes(token)) return err;
    return new GeminiApiError({
      httpStatus: err.httpStatus,
      status: err.status,
      detail: redact(err.message, token),
      route: redact(err.route, token),
      retryable: err.retryable,
      ambiguous: err.ambiguous,
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
      ...(err.errno ? { errno: err.errno } : {}),
    });
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
