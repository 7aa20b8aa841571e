/** What every route handler shares: resolved options, stores, faults, counters. */
import type { IncomingMessage } from 'node:http';
import type { Counters } from './counters.js';
import type { Faults } from './faults.js';
import type { FileStore } from './file-store.js';
import type { EmulatorOptions, EnqueuedTokenLimits, Responder } from './types.js';

export interface Settings {
  apiKey: string | undefined;
  pendingMs: number;
  runningMs: number;
  maxFileBytes: number;
  maxInlineBytes: number;
  maxLineBytes: number;
  responder: Responder;
  shuffleResults: boolean;
  dropResults: number;
  duplicateResults: number;
  maxEnqueuedRequests: number | undefined;
  enqueuedTokenLimit: EnqueuedTokenLimits | undefined;
  omitInlineMetadata: boolean;
  downloadUploadedFiles: boolean;
  succeededWithoutOutputPolls: number;
  listLagMs: number;
  storageLimitBytes: number;
}

export interface Context {
  settings: Settings;
  options: EmulatorOptions;
  dataDir: string;
  files: FileStore;
  faults: Faults;
  counters: Counters;
  now: () => number;
}

/** The origin the client used to reach us, so absolute URLs we hand out work through port maps and proxies. */
export function originOf(req: IncomingMessage, fallback: string): string {
  const host = req.headers.host;
  return host ? `http://${host}` : fallback;
}
