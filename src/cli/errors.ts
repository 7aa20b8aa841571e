/**
 * How the CLI reports failure: exit codes, one-sentence messages for mistakes
 * a user can fix, and a last line of defence that keeps the API key out of
 * anything we print.
 */
import { GeminiBatchError, isUserError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FATAL = 1;
export const EXIT_USAGE = 2;
/** The run finished but every record's result is an error: nothing usable came out. */
export const EXIT_ALL_FAILED = 3;
/** The budget (--max-cost) ran out: some records were not sent (BUDGET_EXCEEDED lines); a larger cap sends them. */
export const EXIT_BUDGET = 4;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

/**
 * A mistake in how the command was called (bad flag, no key, unreadable
 * input, OUT naming INPUT): exit 2. One of the library's typed errors, code
 * ERR_USAGE, so callers of main() switch on codes alone.
 */
export class CliUsageError extends GeminiBatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
    this.name = 'CliUsageError';
  }
}

/** Refusals the user can act on from the message alone (no stack trace). */
const EXPLAINABLE_CODES = new Set(['ERR_STATE_LOCKED', 'ERR_STATE_COMPLETE', 'ERR_QUOTA', 'ERR_BATCH_OUTPUT_MISSING']);

/**
 * Replace any API key found in the environment with ***. The library already
 * never puts the key in an error; this guards against a message we did not write
 * (a proxy echoing a header, a third-party error) reaching the terminal.
 */
export function redact(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const name of ['GEMINI_API_KEY', 'GOOGLE_API_KEY']) {
    const key = env[name]?.trim();
    if (key && key.length >= 4) out = out.split(key).join('***');
  }
  return out;
}

export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the message alone tells the user what to fix: no stack trace wanted. */
export function isExplainable(err: unknown): boolean {
  return isUserError(err) || EXPLAINABLE_CODES.has(errorCode(err) ?? '');
}

/** Exit 2: usage errors (ours, options the library refused) and refusals to resume (the state dir holds another input's run). */
const USAGE_CODES = new Set(['ERR_USAGE', 'ERR_INVALID_OPTIONS', 'ERR_STATE_MISMATCH', 'ERR_STATE_COMPLETE']);

/** Usage errors and refusals exit 2; everything else 1 (a state dir in use too: wait and run again). */
export function exitCodeOf(err: unknown): number {
  const code = err instanceof GeminiBatchError ? err.code : undefined;
  return code !== undefined && USAGE_CODES.has(code) ? EXIT_USAGE : EXIT_FATAL;
}

/**
 * The text printed for a fatal error: the message, ending in a full stop; a
 * stack only with DEBUG=gemini-batch and only for errors that are not the
 * user's (a stack trace would not help them fix a bad line).
 */
export function describeError(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const message = err instanceof Error ? err.message : String(err);
  const sentence = /[.!?]$/.test(message.trim()) ? message.trim() : `${message.trim()}.`;
  const debug = (env.DEBUG ?? '').split(',').some((d) => d.trim() === 'gemini-batch' || d.trim() === '*');
  const stack = debug && !isExplainable(err) && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  return redact(`gemini-batch: ${sentence}${stack}`, env);
}
