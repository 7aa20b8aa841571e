/**
 * Typed errors with stable codes. Every error this library raises is a
 * GeminiBatchError; callers switch on `code`, never on message text.
 */
export type ErrorCode =
  | 'ERR_GEMINI_HTTP'
  | 'ERR_INVALID_OPTIONS'
  | 'ERR_INVALID_RECORD'
  | 'ERR_RECORD_TOO_LARGE'
  | 'ERR_UPLOAD'
  | 'ERR_BATCH_FAILED'
  | 'ERR_STATE_MISMATCH'
  /** The stateDir's journal records a completed run: there is nothing left to do. */
  | 'ERR_STATE_COMPLETE'
  /** A local file (spool, results, work dir) could not be read or written; `cause` is the fs error. */
  | 'ERR_FILE_IO'
  /** The enqueued-token quota refused our batches and waiting cannot help (limit 0, a request over it, quotaWaitMs passed). */
  | 'ERR_QUOTA'
  /** A batch shows SUCCEEDED but its output never appeared within outputWaitMs; a rerun fetches it. */
  | 'ERR_BATCH_OUTPUT_MISSING'
  /** Another live run holds the stateDir's lock (one run per state dir). */
  | 'ERR_STATE_LOCKED'
  | 'ERR_ABORTED'
  | 'ERR_USAGE'
  | 'ERR_INTERNAL';

export class GeminiBatchError extends Error {
  readonly code: string;
  constructor(code: ErrorCode | string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GeminiBatchError';
    this.code = code;
  }
}

/** Bad user input: a record that cannot be sent. Names seq/line and key. */
export class InvalidRecordError extends GeminiBatchError {
  readonly seq: number;
  readonly key: string | undefined;
  readonly line: number | undefined;
  constructor(
    code: 'ERR_INVALID_RECORD' | 'ERR_RECORD_TOO_LARGE',
    what: string,
    where: { seq: number; key?: string; line?: number },
  ) {
    const at = where.line !== undefined ? `line ${where.line}` : `record ${where.seq}`;
    const key = where.key !== undefined ? ` (key ${JSON.stringify(where.key)})` : '';
    super(code, `${at}${key}: ${what}`);
    this.name = 'InvalidRecordError';
    this.seq = where.seq;
    this.key = where.key;
    this.line = where.line;
  }
}

/** A user mistake we can explain in one sentence (no stack trace needed). */
export function isUserError(err: unknown): err is GeminiBatchError {
  return (
    err instanceof GeminiBatchError &&
    ['ERR_INVALID_OPTIONS', 'ERR_INVALID_RECORD', 'ERR_RECORD_TOO_LARGE', 'ERR_STATE_MISMATCH', 'ERR_STATE_COMPLETE', 'ERR_USAGE'].includes(
      err.code,
    )
  );
}

export function abortError(signal?: AbortSignal): GeminiBatchError {
  const reason = signal?.reason;
  return new GeminiBatchError('ERR_ABORTED', reason instanceof Error ? reason.message : 'The operation was aborted', {
    cause: reason,
  });
}

/**
 * Say what was being done when an error gave up ("uploading chunk 3 (records
 * 3000..3999): Gemini API 503 ..."), keeping the error's class and code so
 * callers can still switch on them. Aborts pass through untouched.
 */
function withContext(err: unknown, doing: string): unknown {
  if (!(err instanceof Error) || (err instanceof GeminiBatchError && err.code === 'ERR_ABORTED')) return err;
  if (!err.message.startsWith(doing)) err.message = `${doing}: ${err.message}`;
  return err;
}

/** A Node system error from the file system (ENOENT, ENOSPC, EACCES, ...). */
function isFsError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException;
  return err instanceof Error && !(err instanceof GeminiBatchError) && typeof e.code === 'string' && typeof e.syscall === 'string';
}

/**
 * At a stage boundary: a raw fs error becomes ERR_FILE_IO saying what was
 * being done, the original kept as `cause`; any other error gets the same
 * context through withContext().
 */
export function atStageBoundary(err: unknown, doing: string): unknown {
  return isFsError(err) ? wrapFsError(err, doing) : withContext(err, doing);
}

/** A raw fs error becomes ERR_FILE_IO (cause kept); anything else passes unchanged. */
export function wrapFsError(err: unknown, doing: string): unknown {
  if (!isFsError(err)) return err;
  const where = err.path ? ` ${err.path}` : '';
  return new GeminiBatchError('ERR_FILE_IO', `${doing}: ${err.code} on ${err.syscall}${where}`, { cause: err });
}
