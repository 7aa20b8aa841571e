/**
 * node:http adapters over the receiver core: read the raw body with a size
 * cap, judge it, answer. createWebhookHandler(receiver) serves one receiver;
 * handleWebhook(req, res) serves whatever receivers are open in this process
 * (the running pipelines'), for users who already run a server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebhookError } from './errors.js';
import { DEFAULT_MAX_BODY_BYTES } from './options.js';
import { errorResponse, openReceivers, rejectDelivery, type WebhookReceiver, type WebhookResponse } from './receiver.js';
import type { WebhookHeaders } from './verify.js';

/** A request as node:http, Express or Fastify hands it over (the latter may have read the body already). */
export type WebhookRequest = IncomingMessage & { body?: unknown; rawBody?: unknown };
export type WebhookHandler = (req: WebhookRequest, res: ServerResponse) => void;

/**
 * The exact bytes received. A framework that already read the body must have
 * kept it raw (express.raw(), a rawBody plugin); a parsed object cannot be
 * verified, since the signature covers bytes, not JSON values.
 */
export async function readRawBody(req: WebhookRequest, maxBytes: number): Promise<Buffer> {
  for (const kept of [req.rawBody, req.body]) {
    if (Buffer.isBuffer(kept) || typeof kept === 'string') {
      const body = Buffer.isBuffer(kept) ? kept : Buffer.from(kept, 'utf8');
      if (body.length > maxBytes) throw tooLarge(maxBytes);
      return body;
    }
  }
  // A parser that did not match the content type leaves `{}` and the stream
  // unread (Express 4): then the bytes are still ours to read.
  if (req.readableEnded) {
    throw new WebhookError(
      'ERR_WEBHOOK_RAW_BODY',
      'the webhook body was parsed before verification; give this route the raw bytes (e.g. express.raw({type: "*/*"}))',
    );
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of req as AsyncIterable<Buffer>) {
    size += piece.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    pieces.push(piece);
  }
  return Buffer.concat(pieces, size);
}

function tooLarge(maxBytes: number): WebhookError {
  return new WebhookError('ERR_WEBHOOK_TOO_LARGE', `webhook body is larger than ${maxBytes} bytes`);
}

export function sendWebhookResponse(res: ServerResponse, response: WebhookResponse, closeConnection = false): void {
  if (res.headersSent) return;
  res.writeHead(response.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(response.body),
    ...(closeConnection ? { connection: 'close' } : {}),
  });
  res.end(response.body);
}

/**
 * Read, judge and answer one delivery, then (for a refused body we stopped
 * reading) close the connection rather than drain an unbounded upload.
 */
async function serve(
  req: WebhookRequest,
  res: ServerResponse,
  maxBytes: number,
  judge: (headers: WebhookHeaders, body: Buffer) => Promise<WebhookResponse>,
  refuse: (error: WebhookError) => WebhookResponse,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readRawBody(req, maxBytes);
  } catch (err) {
    const error = err instanceof WebhookError ? err : new WebhookError('ERR_WEBHOOK_PAYLOAD', 'could not read the webhook body', { cause: err });
    sendWebhookResponse(res, refuse(error), !req.readableEnded);
    return;
  }
  sendWebhookResponse(res, await judge(req.headers, body));
}

/** A node:http handler for one receiver (what startWebhookReceiver serves). */
export function createWebhookHandler(receiver: WebhookReceiver): WebhookHandler {
  return (req, res) => {
    void serve(
      req,
      res,
      receiver.maxBodyBytes,
      (headers, body) => receiver.receive(headers, body),
      (error) => rejectDelivery(receiver, error),
    ).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}

// 2xx first (the delivery is taken), then 503 (someone could not check it yet:
// let the service retry), then the rest (401, 400).
function rank(r: WebhookResponse): number {
  if (r.status < 300) return r.outcome === 'hint' ? 0 : r.outcome === 'duplicate' ? 1 : 2;
  return r.status === 503 ? 3 : 4;
}

/**
 * Judge one delivery against every receiver open in this process (each running
 * pipeline with a webhook has one): for a Fastify route or a serverless
 * function that has the raw body in hand. Answer with the returned status and body.
 */
export async function receiveWebhook(headers: WebhookHeaders, rawBody: Buffer | string): Promise<WebhookResponse> {
  const receivers = [...openReceivers];
  if (receivers.length === 0) return noReceiver();
  const answers = await Promise.all(receivers.map((r) => r.receive(headers, rawBody)));
  return answers.reduce((best, r) => (rank(r) < rank(best) ? r : best));
}

function noReceiver(): WebhookResponse {
  return errorResponse(
    new WebhookError('ERR_WEBHOOK_NO_RECEIVER', 'no webhook receiver is open in this process (no pipeline with a webhook is running)'),
  );
}

/**
 * node:http-style handler for an existing server (Express: mount it with
 * `express.raw({type: '*\/*'})` or before any body parser). Forwards each
 * delivery to the pipelines running in this process; answers 401 to a bad
 * signature, 413 to a body over the largest receiver's cap, 503 when no
 * pipeline is running (the service retries for 24 h), 2xx otherwise.
 */
export function handleWebhook(req: WebhookRequest, res: ServerResponse): void {
  const receivers = [...openReceivers];
  const maxBytes = receivers.reduce((m, r) => Math.max(m, r.maxBodyBytes), receivers.length > 0 ? 0 : DEFAULT_MAX_BODY_BYTES);
  void serve(req, res, maxBytes, receiveWebhook, (error) =>
    receivers.length > 0 ? rejectDelivery(receivers[0]!, error) : errorResponse(error),
  ).catch(() => {
    if (!res.headersSent) res.writeHead(500).end();
  });
}
