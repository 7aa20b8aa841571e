/**
 * Cloud Storage's JSON API error body: `{error: {code, message, errors:
 * [{message, domain, reason}]}}` (no `status` string, unlike the Google AI
 * APIs). @google-cloud/storage reads `errors[].reason`.
 */
import type { ServerResponse } from 'node:http';

export class GcsError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly headers: Record<string, string>;
  constructor(code: number, reason: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'GcsError';
    this.code = code;
    this.reason = reason;
    this.headers = headers;
  }
}

export const noSuchObject = (bucket: string, name: string): GcsError => new GcsError(404, 'notFound', `No such object: ${bucket}/${name}`);
export const badRequest = (message: string): GcsError => new GcsError(400, 'invalid', message);
export const conditionNotMet = (): GcsError =>
  new GcsError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');

export function sendGcsError(res: ServerResponse, err: GcsError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({
    error: { code: err.code, message: err.message, errors: [{ message: err.message, domain: 'global', reason: err.reason }] },
  });
  res.writeHead(err.code, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...err.headers,
  });
  res.end(text);
}
