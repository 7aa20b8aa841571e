/**
 * The transport: one undici Agent (which keeps one keep-alive Pool per
 * origin, so absolute upload URLs on another host just work), auth by header
 * only, and the mapping of every failure to a GeminiApiError whose text has
 * been scrubbed of the API key.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Agent } from 'undici';
import type { z } from 'zod/v3';
import { abortError } from '../../errors.js';
import { GeminiApiError, errorCode, redact, sanitizedCause } from './errors.js';
import { readErrorDetails, type ErrorDetails } from './error-details.js';
import { isRetryable, parseRetryAfter, withRetry, retryUnlessAmbiguous, type RetryEvent } from './retry.js';
import { errorBodySchema } from './schemas.js';
import { loadUndici, type UndiciParts } from './undici-parts.js';
import type { QuotaViolation, RetryOptions } from './types.js';

export interface HttpConfig {
  apiKey: string | undefined;
  /** Origin (+ optional path prefix), no trailing slash. */
  baseUrl: string;
  apiVersion: string;
  connections: number;
  retry: Required<RetryOptions>;
  onRetry?: (e: RetryEvent) => void;
}

export type HttpMethod = 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'PUT';

export interface HttpRequest {
  method: HttpMethod;
  /** Absolute URL. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable | null;
  signal?: AbortSignal;
  okStatus?: readonly number[]; // non-2xx answers taken as success (Cloud Storage's 308 Resume Incomplete)
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** Error bodies are read only this far: enough for any real error, bounded against a hostile one. */
const MAX_ERROR_BODY = 64 * 1024;

/** Connection failures worth another try. */
const RETRYABLE_ERRNO: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Failures that happen before a single byte of the request can have reached the server. */
const NOT_SENT_ERRNO: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export class HttpTransport {
  readonly baseUrl: string;
  readonly apiVersion: string;
  readonly retryOptions: Required<RetryOptions>;
  private readonly apiKey: string | undefined;
  private readonly agentOptions: ConstructorParameters<typeof Agent>[0];
  /** Made on the first request (see undici-parts.ts): a client that never calls costs nothing. */
  private dispatcher: Promise<{ agent: Agent; parts: UndiciParts }> | undefined;
  private closed = false;
  private readonly onRetry: ((e: RetryEvent) => void) | undefined;

  constructor(cfg: HttpConfig) {
    this.baseUrl = cfg.baseUrl;
    this.apiVersion = cfg.apiVersion;
    this.apiKey = cfg.apiKey;
    this.retryOptions = cfg.retry;
    this.onRetry = cfg.onRetry;
    this.agentOptions = {
      connections: cfg.connections,
      // Shorter than typical server idle timeouts, so we rarely write a
      // request onto a socket the server is closing (an ambiguous failure for POSTs).
      keepAliveTimeout: 4_000,
      headersTimeout: cfg.retry.requestTimeoutMs,
      // An idle gap between body chunks; large downloads are fine as long as bytes keep flowing.
      bodyTimeout: Math.max(cfg.retry.requestTimeoutMs, 300_000),
    };
  }

  private getDispatcher(): Promise<{ agent: Agent; parts: UndiciParts }> {
    return (this.dispatcher ??= loadUndici().then((parts) => ({ agent: new parts.Agent(this.agentOptions), parts })));
  }

  /** `{base}/{version}/{path}` */
  api(path: string): string {
    return `${this.baseUrl}/${this.apiVersion}/${path}`;
  }

  /** `{base}/upload/{version}/{path}` */
  upload(path: string): string {
    return `${this.baseUrl}/upload/${this.apiVersion}/${path}`;
  }

  /** One attempt. Resolves only for 2xx; the caller must consume or destroy `body`. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.url);
    const route = routeOf(req.method, url);
    const headers: Record<string, string> = { ...req.headers };
    if (this.apiKey) headers['x-goog-api-key'] = this.apiKey;
    if (req.signal?.aborted) throw abortError(req.signal);
    let res;
    try {
      if (this.closed) {
        throw new GeminiApiError({ httpStatus: 0, status: 'CLIENT_CLOSED', detail: 'the client was closed', route, retryable: false, ambiguous: false });
      }
      const { agent, parts } = await this.getDispatcher();
      res = await parts.request(agent, {
        origin: url.origin,
        path: url.pathname + url.search,
        method: req.method,
        headers,
        body: req.body ?? null,
        signal: req.signal ?? null,
      });
    } catch (err) {
      if (req.signal?.aborted) throw abortError(req.signal);
      throw this.networkError(err, route);
    }
    if ((res.statusCode >= 200 && res.statusCode < 300) || req.okStatus?.includes(res.statusCode)) {
      return { status: res.statusCode, headers: res.headers, body: res.body };
    }
    throw await this.httpError(res.statusCode, res.headers, res.body, route);
  }

  /** One attempt whose 2xx answer is a JSON document (an empty body reads as {}). */
  async sendJson<S extends z.ZodType>(req: HttpRequest, schema: S): Promise<z.infer<S>> {
    const res = await this.send(req);
    const route = routeOf(req.method, new URL(req.url));
    const text = await this.readText(res.body, route, req.signal, Infinity);
    return this.parseJson(text, schema, res.status, route);
  }

  parseJson<S extends z.ZodType>(text: string, schema: S, status: number, route: string): z.infer<S> {
    let value: unknown;
    try {
      value = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw this.badAnswer(status, route, 'answer is not JSON');
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw this.badAnswer(status, route, `unexpected answer shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    return parsed.data;
  }

  /**
   * Retry an idempotent call (or, with idempotent false, only failures that
   * prove nothing was processed). `shouldRetry` narrows further (it is asked
   * only about errors the idempotency rule would retry).
   */
  retry<T>(
    fn: (attempt: number) => Promise<T>,
    opts: { signal?: AbortSignal; idempotent?: boolean; shouldRetry?: (err: GeminiApiError) => boolean } = {},
  ): Promise<T> {
    const base = opts.idempotent === false ? retryUnlessAmbiguous : isRetryable;
    const narrow = opts.shouldRetry;
    return withRetry(fn, {
      policy: this.retryOptions,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.idempotent === false || narrow ? { shouldRetry: (err: unknown) => base(err) && (!narrow || narrow(err as GeminiApiError)) } : {}),
      ...(this.onRetry ? { onRetry: this.onRetry } : {}),
    });
  }

  /** Tell the client's onRetry hook about a wait a loop of its own is about to make (a download resume). */
  notifyRetry(e: RetryEvent): void {
    this.onRetry?.(e);
  }

  /** Read a body to a string, mapping mid-body failures to GeminiApiError. */
  async readText(body: Readable, route: string, signal: AbortSignal | undefined, limit: number): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= limit) {
          body.destroy();
          break;
        }
      }
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      throw this.networkError(err, route);
    }
    return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
  }

  /** Wrap a connection/stream failure. Public so streaming callers can map mid-body errors too. */
  networkError(err: unknown, route: string): GeminiApiError {
    if (err instanceof GeminiApiError) return err;
    const errno = errorCode(err);
    const message = err instanceof Error ? err.message : String(err);
    return new GeminiApiError({
      httpStatus: 0,
      status: 'NETWORK_ERROR',
      detail: redact(errno ? `${errno}: ${message}` : message, this.apiKey),
      route,
      retryable: errno !== undefined && RETRYABLE_ERRNO.has(errno),
      ambiguous: errno === undefined || !NOT_SENT_ERRNO.has(errno),
      ...(errno ? { errno } : {}),
      cause: sanitizedCause(err, this.apiKey),
    });
  }

  private async httpError(httpStatus: number, headers: IncomingHttpHeaders, body: Readable, route: string): Promise<GeminiApiError> {
    let text = '';
    try {
      text = await this.readText(body, route, undefined, MAX_ERROR_BODY);
    } catch {
      // The status line is what matters; a broken error body must not hide it.
    }
    let status = `HTTP_${httpStatus}`;
    let detail = text.trim().slice(0, 300) || 'no error body';
    // The header wins: it is the most deliberate hint; then RetryInfo, then the message text.
    let retryAfterMs = parseRetryAfter(headers['retry-after']);
    let details: ErrorDetails = { violations: [] };
    try {
      const parsed = errorBodySchema.safeParse(JSON.parse(text));
      if (parsed.success) {
        const e = parsed.data.error;
        if (e.status) status = e.status;
        if (e.message) detail = e.message;
        details = readErrorDetails(e.details, e.message);
        retryAfterMs ??= details.retryAfterMs;
      }
    } catch {
      // Not JSON (a proxy's HTML page): keep the HTTP_<n> status and the text snippet.
    }
    const violations = details.violations.map((v) => redactViolation(v, this.apiKey));
    // A quota of 0 (no Batch access on this tier) never lets a retry through.
    const noAccess = httpStatus === 429 && violations.some((v) => v.limit === 0);
    return new GeminiApiError({
      httpStatus,
      status,
      detail: redact(detail, this.apiKey),
      route,
      ...(details.reason ? { reason: redact(details.reason, this.apiKey) } : {}),
      retryable: !noAccess && (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500),
      // A gateway that gave up may have forwarded the request: the service could have acted on it.
      ambiguous: httpStatus === 502 || httpStatus === 504,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(violations.length > 0 ? { quotaViolations: violations } : {}),
    });
  }

  private badAnswer(status: number, route: string, detail: string): GeminiApiError {
    return new GeminiApiError({ httpStatus: status, status: 'INVALID_RESPONSE', detail, route, retryable: false });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.dispatcher) await (await this.dispatcher).agent.close();
  }
}

/** `METHOD /path`: never the query string (upload ids, and a key someone put in a URL). */
export function routeOf(method: string, url: URL): string {
  return `${method} ${url.pathname}`;
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function redactViolation(v: QuotaViolation, secret: string | undefined): QuotaViolation {
  const out: QuotaViolation = { ...v };
  for (const k of ['metric', 'id', 'model', 'location'] as const) {
    const val = out[k];
    if (val !== undefined) out[k] = redact(val, secret);
  }
  return out;
}
