/** wire.toResultError / statusName / isRetryableResultError: gRPC-coded errors get their names and their retry policy. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRetryableResultError, readResultError, statusName, toResultError } from '../src/internal/wire/result-error.js';

const GRPC: Array<[number, string, boolean]> = [
  [1, 'CANCELLED', false],
  [2, 'UNKNOWN', false],
  [3, 'INVALID_ARGUMENT', false],
  [4, 'DEADLINE_EXCEEDED', true],
  [5, 'NOT_FOUND', false],
  [6, 'ALREADY_EXISTS', false],
  [7, 'PERMISSION_DENIED', false],
  [8, 'RESOURCE_EXHAUSTED', true],
  [9, 'FAILED_PRECONDITION', false],
  [10, 'ABORTED', true],
  [11, 'OUT_OF_RANGE', false],
  [12, 'UNIMPLEMENTED', false],
  [13, 'INTERNAL', true],
  [14, 'UNAVAILABLE', true],
  [15, 'DATA_LOSS', false],
  [16, 'UNAUTHENTICATED', false],
];

describe('toResultError', () => {
  it.each(GRPC)('gRPC %i without a status string is %s (retryable: %s)', (code, name, retryable) => {
    const e = toResultError({ code, message: 'm' });
    expect(e).toEqual({ code, message: 'm', status: name });
    expect(isRetryableResultError(e)).toBe(retryable);
    // The raw wire object decides the same way.
    expect(isRetryableResultError({ code })).toBe(retryable);
  });

  it('names HTTP codes as Google APIs do, keeps a given status, never UNKNOWN for a known code', () => {
    expect(statusName(429)).toBe('RESOURCE_EXHAUSTED');
    expect(statusName(503)).toBe('UNAVAILABLE');
    expect(statusName(504)).toBe('DEADLINE_EXCEEDED');
    expect(statusName(400)).toBe('INVALID_ARGUMENT');
    expect(toResultError({ code: 500, message: 'x', status: 'INTERNAL' }).status).toBe('INTERNAL');
    expect(toResultError({ code: '14' })).toEqual({ code: 14, status: 'UNAVAILABLE', message: 'request failed (UNAVAILABLE)' });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 16 }).filter((c) => c !== 2), (code) => {
        expect(toResultError({ code, message: 'x' }).status).not.toBe('UNKNOWN');
      }),
    );
  });

  it('reads the error of a line, key first or last', () => {
    expect(readResultError(Buffer.from('{"error": {"code": 13, "message": "An internal error has occurred."}, "key": "4:a"}'))).toEqual({
      code: 13,
      status: 'INTERNAL',
      message: 'An internal error has occurred.',
    });
    expect(readResultError(Buffer.from('{"key":"4:a","response":{}}'))).toBeUndefined();
    expect(readResultError(Buffer.from('nope'))).toBeUndefined();
  });
});

describe('isRetryableResultError', () => {
  it('retries HTTP 408, 429 and 5xx, and MISSING_RESULT; not 4xx, bad records or failed jobs', () => {
    for (const code of [408, 429, 500, 502, 503, 504, 599]) expect(isRetryableResultError({ code }), String(code)).toBe(true);
    for (const code of [400, 401, 403, 404, 409, 499, 0, -1, 42]) expect(isRetryableResultError({ code }), String(code)).toBe(false);
    expect(isRetryableResultError({ code: 500, status: 'MISSING_RESULT' })).toBe(true);
    expect(isRetryableResultError({ code: 400, status: 'INVALID_RECORD' })).toBe(false);
    expect(isRetryableResultError({ code: 500, status: 'BATCH_FAILED' })).toBe(false);
    expect(isRetryableResultError({ code: 14, status: 'UNAVAILABLE' })).toBe(true);
    expect(isRetryableResultError(undefined)).toBe(false);
  });

  it('answers the same for the raw wire error and the named one (naming never changes the policy)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -2, max: 20 }), fc.integer({ min: 100, max: 599 }), fc.constant(undefined)), fc.option(fc.constantFrom('INTERNAL', 'INVALID_ARGUMENT', 'UNAVAILABLE'), { nil: undefined }), (code, status) => {
        const raw = { code, status, message: 'x' };
        expect(isRetryableResultError(toResultError(raw))).toBe(isRetryableResultError(code === undefined ? { code: 2, status } : raw));
      }),
    );
    expect(isRetryableResultError({ status: 'UNAVAILABLE' })).toBe(true);
    expect(isRetryableResultError({ status: 'NOT_FOUND' })).toBe(false);
  });
});
