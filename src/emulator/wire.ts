/**
 * HTTP plumbing shared by every route: Google-style error bodies, JSON
 * answers, bounded body reads, time stamps.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** google.rpc.Code names by HTTP status, as the real service pairs them. */
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  408: 'DEADLINE_EXCEEDED',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : 'UNKNOWN');
}

export interface ErrorDetail {
  '@type': string;
  [field: string]: unknown;
}

/** An error a handler throws to answer with a Google error body. */
export class HttpError extends Error {
  readonly code: number;
  readonly status: string;
  readonly details: ErrorDetail[] | undefined;
  constructor(code: number, message: string, opts: { status?: string; details?: ErrorDetail[] } = {}) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.status = opts.status ?? statusName(code);
    this.details = opts.details;
  }
}

export const notFound = (what: string): HttpError => new HttpError(404, `${what} not found.`);
export const invalid = (message: string): HttpError => new HttpError(400, message);

export function errorBody(err: HttpError): string {
  const error: Record<string, unknown> = { code: err.code, message: err.message, status: err.status };
  if (err.details) error.details = err.details;
  return JSON.stringify({ error });
}

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    // Too late for a status line: cut the response so the client sees a failure, not a short body.
    res.destroy();
    return;
  }
  const text = errorBody(err);
  res.writeHead(err.code, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Reads a whole request body, failing with 400 past `limit` bytes. Past the
 * limit it keeps draining (without keeping the bytes) so the client can read
 * our 400 instead of seeing a reset while it is still sending.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) parts.push(chunk);
    else parts.length = 0;
  }
  if (size > limit) {
    throw invalid(`Request payload size exceeds the limit: ${limit} bytes (got ${size}).`);
  }
  return Buffer.concat(parts, size);
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw invalid(`Invalid JSON payload received. ${(err as Error).message}`);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 3339 with microseconds, like the real service prints File times (2025-09-10T13:37:39.328452Z). */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** RFC 3339 with nanoseconds, like the real service prints batch times (2025-09-10T13:37:39.328452123Z). */
export function isoTimeNanos(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Opaque page tokens: the sequence number of the last item served. */
export function encodePageToken(seq: number): string {
  return Buffer.from(`s${seq}`).toString('base64url');
}

export function decodePageToken(token: string | null): number | undefined {
  if (!token) return undefined;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const m = /^s(\d+)$/.exec(text);
  if (!m) throw invalid(`Invalid page token: ${token}`);
  return Number(m[1]);
}

export function pageSizeOf(raw: string | null, def: number, max: number): number {
  if (raw === null || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw invalid(`Invalid pageSize: ${raw}`);
  return n === 0 ? def : Math.min(n, max);
}

/**
 * One page of newest-first items. Tokens are sequence numbers, not offsets,
 * so items created between two page calls do not shift or repeat entries.
 */
export function paginate<T extends { seq: number }>(
  items: Iterable<T>,
  pageSize: number,
  after: number | undefined,
): { page: T[]; nextPageToken: string | undefined } {
  const sorted = [...items].filter((i) => after === undefined || i.seq < after).sort((a, b) => b.seq - a.seq);
  const page = sorted.slice(0, pageSize);
  const last = page[page.length - 1];
  const nextPageToken = sorted.length > pageSize && last ? encodePageToken(last.seq) : undefined;
  return { page, nextPageToken };
}
