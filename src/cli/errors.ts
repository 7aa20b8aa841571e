/**
 * How the CLI reports failure: exit codes, one-sentence messages for mistakes
 * a user can fix, and a last line of defence that keeps the API key out of
 * anything we print.
 */
import { isUserError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FATAL = 1;
export const EXIT_USAGE = 2;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

/** A mistake in how the command was called (bad flag, no key, unreadable input): exit 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

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
  return err instanceof CliUsageError || isUserError(err);
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CliUsageError ? EXIT_USAGE : EXIT_FATAL;
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
