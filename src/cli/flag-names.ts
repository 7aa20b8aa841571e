/**
 * The library validates its options and names them in its errors
 * ("geminiBatch: option maxFileBytes: ..."); a CLI user typed flags. This
 * turns such an error into a usage error that names the flag.
 */
import { GeminiBatchError } from '../errors.js';
import { CliUsageError } from './errors.js';

/** Library option → what the CLI user sets instead. */
const FLAG_OF: Record<string, string> = {
  model: '--model',
  task: '--task',
  mode: '--mode',
  maxFileBytes: '--max-file-bytes',
  maxRequestsPerBatch: '--max-requests',
  flushAfterMs: '--flush-after',
  uploadConcurrency: '--upload-concurrency',
  maxJobsInFlight: '--max-jobs',
  pollInterval: '--poll-interval',
  maxLineBytes: '--max-line-bytes',
  onInvalid: '--on-invalid',
  retryFailedRequests: '--retry-failed',
  quotaWaitMs: '--quota-wait',
  adoptWindowMs: '--adopt-window',
  outputWaitMs: '--output-wait',
  storageBudgetBytes: '--storage-budget',
  cleanupRemote: '--no-cleanup',
  cancelOnAbort: '--cancel-on-abort',
  stateDir: '--state-dir',
  apiKey: 'GEMINI_API_KEY',
  baseUrl: 'GOOGLE_GEMINI_BASE_URL',
  webhook: '--webhook-listen',
  budget: '--max-cost',
};

/** Nested options the library names by their path ("webhook.secret"). */
const FLAG_OF_PATH: Record<string, string> = {
  'webhook.secret': '--webhook-secret',
  'webhook.url': '--webhook-url',
  'webhook.listen': '--webhook-listen',
  'budget.outputTokens': '--output-tokens',
  'budget.maxUsd': '--max-cost',
};

const names = Object.keys(FLAG_OF).join('|');
/** "option model", "option pollInterval.initialMs": the library's way to name an option. */
const NAMED_OPTION = new RegExp(`\\boption (${names})(?:\\.[A-Za-z]+)*\\b`, 'g');
/** camelCase option names are not English words: safe to replace anywhere. */
const CAMEL_OPTION = new RegExp(`\\b(${Object.keys(FLAG_OF).filter((k) => /[A-Z]/.test(k)).join('|')})\\b`, 'g');

const PATH_OPTION = new RegExp(`\\b(?:option )?(${Object.keys(FLAG_OF_PATH).map((k) => k.replace('.', '\\.')).join('|')})(?:\\.[A-Za-z0-9]+)*\\b`, 'g');

/** Rewrite library option names in `message` as the CLI's flags. */
export function withFlagNames(message: string): string {
  return message
    .replace(/^geminiBatch: /, '')
    .replace(PATH_OPTION, (_m, path: string) => FLAG_OF_PATH[path] ?? path)
    .replace(NAMED_OPTION, (_m, name: string) => FLAG_OF[name] ?? name)
    .replace(CAMEL_OPTION, (_m, name: string) => FLAG_OF[name] ?? name);
}

/** Library errors that name options (by "option name") and keep their code in the CLI. */
const NAMES_OPTIONS = new Set(['ERR_STATE_MISMATCH', 'ERR_STATE_COMPLETE', 'ERR_STATE_LOCKED']);

/**
 * ERR_INVALID_OPTIONS from the library becomes a usage error naming flags;
 * other errors that name options keep their code with flags named instead;
 * anything else passes through.
 */
export function asFlagError(err: unknown): unknown {
  if (!(err instanceof GeminiBatchError)) return err;
  if (err.code === 'ERR_INVALID_OPTIONS') return new CliUsageError(withFlagNames(err.message), { cause: err });
  if (NAMES_OPTIONS.has(err.code)) {
    const message = withFlagNames(err.message);
    if (message !== err.message) return new GeminiBatchError(err.code, message, { cause: err });
  }
  return err;
}
