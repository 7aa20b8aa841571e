/**
 * Which backend a run talks to, made from the run's options: the one place
 * that knows every backend folder (the stages and the run context see only
 * the seam, src/backend/types.ts).
 */
import type { BatchBackend, BackendLimits, WireCodec } from '../backend/types.js';
import { createGeminiBackend, GEMINI_LIMITS } from './gemini/backend.js';
import type { GeminiClient, RetryOptions } from './gemini/types.js';
import { createVertexBackend, VERTEX_LIMITS, type VertexBackendOptions } from './vertex/backend.js';
import { vertexWire } from './vertex/codec.js';

export interface BackendChoice {
  /** Which service (default: the Developer API). */
  backend?: 'gemini' | 'vertex';
  apiKey?: string;
  baseUrl?: string;
  retry?: RetryOptions;
  /** With backend 'vertex': project, location, bucket (gs://b/prefix), getAccessToken. */
  vertex?: Pick<VertexBackendOptions, 'project' | 'location' | 'bucket' | 'getAccessToken'>;
}

/** The backend the options name, or the Developer API over a client lent by the caller (tests, CLI). */
export function openBackend(o: BackendChoice, client?: GeminiClient): BatchBackend {
  if (o.backend === 'vertex') return createVertexBackend({ ...o.vertex, ...(o.retry ? { retry: o.retry } : {}) });
  if (client) return createGeminiBackend({ client });
  return createGeminiBackend({ apiKey: o.apiKey, baseUrl: o.baseUrl, ...(o.retry ? { retry: o.retry } : {}) });
}

/** What a backend is, without opening it (no credentials, no call): for the dry run. */
export interface BackendFacts {
  name: 'gemini' | 'vertex';
  limits: BackendLimits;
  wire: WireCodec;
}

export function backendFacts(name: 'gemini' | 'vertex' = 'gemini'): BackendFacts {
  return name === 'vertex' ? { name, limits: VERTEX_LIMITS, wire: vertexWire } : { name, limits: GEMINI_LIMITS, wire: {} };
}
