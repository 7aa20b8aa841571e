/**
 * Resumable upload (Google's X-Goog-Upload protocol) of a file on disk.
 *
 * Pieces are streamed from disk with fs.createReadStream(start, end), never
 * buffered whole. After any failed piece we ask the service how much it has
 * (`query`) and continue from THAT offset, so a cut connection costs at most
 * one piece, and a session URL persisted by the caller survives a restart.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { GeminiBatchError } from '../../errors.js';
import { header, routeOf, type HttpTransport } from './http.js';
import { fileEnvelopeSchema, type WireFile } from './schemas.js';
import type { GeminiFile, UploadFileOptions } from './types.js';

export const UPLOAD_GRANULARITY = 256 * 1024;
export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

export interface UploadQuery {
  status: string;
  received: number;
  /** The final answer's file, when the service includes it in the query answer. */
  file?: WireFile;
}

export function validateChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize <= 0 || chunkSize % UPLOAD_GRANULARITY !== 0) {
    throw new GeminiBatchError(
      'ERR_INVALID_OPTIONS',
      `chunkSize must be a positive multiple of 256 KiB (262144 bytes), got ${chunkSize}`,
    );
  }
}

/** Start a session; resolves with the absolute session URL. */
async function startSession(http: HttpTransport, total: number, displayName: string, mimeType: string, signal?: AbortSignal): Promise<string> {
  const url = http.upload('files');
  const res = await http.send({
    method: 'POST',
    url,
    headers: {
      'x-goog-upload-protocol': 'resumable',
      'x-goog-upload-command': 'start',
      'x-goog-upload-header-content-length': String(total),
      'x-goog-upload-header-content-type': mimeType,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ file: { displayName, mimeType } }),
    ...(signal ? { signal } : {}),
  });
  res.body.resume(); // the SDKs ignore this body; drain it so the socket is reused
  const sessionUrl = header(res.headers, 'x-goog-upload-url');
  if (!sessionUrl) {
    throw new GeminiBatchError('ERR_UPLOAD', `upload start on ${routeOf('POST', new URL(url))} answered without x-goog-upload-url`);
  }
  // Relative session URLs are not expected, but resolving them costs nothing.
  return new URL(sessionUrl, url).toString();
}

/** One `query` attempt. */
export async function queryUpload(http: HttpTransport, uploadUrl: string, signal?: AbortSignal): Promise<UploadQuery> {
  const res = await http.send({
    method: 'POST',
    url: uploadUrl,
    headers: { 'x-goog-upload-command': 'query', 'content-length': '0' },
    body: '',
    ...(signal ? { signal } : {}),
  });
  const route = routeOf('POST', new URL(uploadUrl));
  const text = await http.readText(res.body, route, signal, Infinity);
  const status = (header(res.headers, 'x-goog-upload-status') ?? '').toLowerCase();
  const received = Number(header(res.headers, 'x-goog-upload-size-received') ?? '0');
  if (!Number.isSafeInteger(received) || received < 0) {
    throw new GeminiBatchError('ERR_UPLOAD', `upload query on ${route} answered a bad x-goog-upload-size-received`);
  }
  const envelope = safeEnvelope(text);
  return { status, received, ...(envelope ? { file: envelope } : {}) };
}

function safeEnvelope(text: string): WireFile | undefined {
  try {
    const parsed = fileEnvelopeSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.file : undefined;
  } catch {
    return undefined;
  }
}

type Step = { file: WireFile } | { file?: undefined };

export async function uploadFile(http: HttpTransport, path: string, opts: UploadFileOptions = {}): Promise<GeminiFile> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  validateChunkSize(chunkSize);
  const { signal } = opts;
  const sig = signal ? { signal } : {};
  const total = (await stat(path)).size;
  const mimeType = opts.mimeType ?? 'application/jsonl';
  const displayName = opts.displayName ?? basename(path);

  const resuming = opts.uploadUrl !== undefined;
  const uploadUrl = opts.uploadUrl ?? (await http.retry(() => startSession(http, total, displayName, mimeType, signal), sig));
  await opts.onUploadUrl?.(uploadUrl);
  const route = routeOf('POST', new URL(uploadUrl));

  let offset = 0;
  let bytesSent = 0;
  // A resumed session starts with a query: the service knows the offset, we don't.
  let mustQuery = resuming;

  const sendPiece = async (): Promise<Step> => {
    const end = Math.min(offset + chunkSize, total);
    const last = end === total;
    let body: Readable | string = '';
    if (end > offset) body = createReadStream(path, { start: offset, end: end - 1 });
    bytesSent += end - offset;
    try {
      const res = await http.send({
        method: 'POST',
        url: uploadUrl,
        headers: {
          'x-goog-upload-command': last ? 'upload, finalize' : 'upload',
          'x-goog-upload-offset': String(offset),
          'content-length': String(end - offset),
        },
        body,
        ...sig,
      });
      const text = await http.readText(res.body, route, signal, Infinity);
      const status = (header(res.headers, 'x-goog-upload-status') ?? '').toLowerCase();
      if (last || status === 'final') {
        const file = safeEnvelope(text);
        if (!file) throw new GeminiBatchError('ERR_UPLOAD', `upload finalize on ${route} answered without a file`);
        return { file };
      }
      // Trust the service's count when it gives one: it may have kept less than we sent.
      const acked = Number(header(res.headers, 'x-goog-upload-size-received') ?? end);
      offset = Number.isSafeInteger(acked) && acked >= 0 && acked <= total ? acked : end;
      return {};
    } finally {
      if (typeof body !== 'string' && !body.destroyed) body.destroy();
    }
  };

  const step = async (attempt: number): Promise<Step> => {
    if (mustQuery || attempt > 1) {
      const q = await queryUpload(http, uploadUrl, signal);
      mustQuery = false;
      if (q.status === 'final') return { file: q.file ?? (await refinalize(q.received)) };
      if (q.received > total) {
        throw new GeminiBatchError('ERR_UPLOAD', `upload session on ${route} holds ${q.received} bytes, the file has ${total}`);
      }
      offset = q.received;
    }
    return sendPiece();
  };

  // The session is final but its answer was lost and the query carried no file:
  // repeating the finalize command makes the service answer with the file again.
  const refinalize = async (received: number): Promise<WireFile> => {
    const res = await http.send({
      method: 'POST',
      url: uploadUrl,
      headers: { 'x-goog-upload-command': 'finalize', 'x-goog-upload-offset': String(received), 'content-length': '0' },
      body: '',
      ...sig,
    });
    const file = safeEnvelope(await http.readText(res.body, route, signal, Infinity));
    if (!file) throw new GeminiBatchError('ERR_UPLOAD', `upload session on ${route} is final but the service did not return the file`);
    return file;
  };

  // Each piece is retried within the client's bounds; a session that keeps taking pieces
  // without its offset moving (a service that drops them) is bounded the same way.
  let stalled = 0;
  for (let last = -1; ; ) {
    const result = await http.retry(step, sig);
    if (result.file) {
      opts.onProgress?.({ uploadUrl, offset: total, total, bytesSent });
      return result.file as GeminiFile;
    }
    opts.onProgress?.({ uploadUrl, offset, total, bytesSent });
    stalled = offset > last ? 0 : stalled + 1;
    last = Math.max(last, offset);
    if (stalled >= http.retryOptions.maxAttempts) {
      throw new GeminiBatchError('ERR_UPLOAD', `upload on ${route} made no progress past byte ${offset} of ${total} in ${stalled + 1} pieces in a row`);
    }
  }
}
