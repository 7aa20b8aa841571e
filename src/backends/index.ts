/**
 * Which backend a run talks to, made from the run's options: the one place
 * that knows every backend folder (the stages and the run context see only
 * the seam, src/backend/types.ts).
 */
import type { BatchBackend } from '../backend/types.js';
import { createGeminiBackend } from './gemini/backend.js';
import type { GeminiClient, RetryOptions } from './gemini/types.js';

export interface BackendChoice {
  apiKey?: string;
  baseUrl?: string;
  retry?: RetryOptions;
}

/** The Developer API backend from the options, or over a client lent by the caller (tests, CLI). */
export function openBackend(o: BackendChoice, client?: GeminiClient): BatchBackend {
  if (client) return createGeminiBackend({ client });
  return createGeminiBackend({ apiKey: o.apiKey, baseUrl: o.baseUrl, ...(o.retry ? { retry: o.retry } : {}) });
}
