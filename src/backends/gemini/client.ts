/**
 * createGeminiClient: validates options once, resolves key and base URL from
 * options then environment, and wires the Files and Batches APIs onto one
 * transport.
 */
import { z } from 'zod/v3';
import { GeminiBatchError } from '../../errors.js';
import { createBatchesApi } from './batches.js';
import { createFilesApi } from './files.js';
import { createModelsApi } from './models.js';
import { HttpTransport } from './http.js';
import { createWebhooksApi } from './webhooks.js';
import { DEFAULT_RETRY } from './retry.js';
import { retryOptionsSchema } from '../../options/retry.js';
import type { GeminiClient, GeminiClientOptions } from './types.js';

export const DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

const positiveInt = z.number().int().positive();

const optionsSchema = z.object({
  // An empty string means "not set" (e.g. `apiKey: process.env.X ?? ''`): fall back to the environment.
  apiKey: z.string().optional(),
  baseUrl: z
    .string()
    .refine((s) => s === '' || (URL.canParse(s) && /^https?:$/.test(new URL(s).protocol)), 'must be an http(s) URL')
    .optional(),
  apiVersion: z
    .string()
    .regex(/^v\d+[a-z0-9]*$/, 'must look like v1beta or v1')
    .optional(),
  retry: retryOptionsSchema.optional(),
  connections: positiveInt.max(1024).optional(),
  onRetry: z.custom<NonNullable<GeminiClientOptions['onRetry']>>((v) => typeof v === 'function').optional(),
}).strict();

function envValue(name: string): string | undefined {
  const v = process.env[name];
  return v && v.trim() !== '' ? v.trim() : undefined;
}

export function createGeminiClient(opts: GeminiClientOptions = {}): GeminiClient {
  const parsed = optionsSchema.safeParse(opts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'options';
    // Never echo values: one of them may be the API key.
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', `createGeminiClient: ${where} ${issue?.message ?? 'is invalid'}`);
  }
  const o = parsed.data;
  const apiKey = (o.apiKey?.trim() || undefined) ?? envValue('GOOGLE_API_KEY') ?? envValue('GEMINI_API_KEY');
  const baseUrl = ((o.baseUrl || undefined) ?? envValue('GOOGLE_GEMINI_BASE_URL') ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  if (!URL.canParse(baseUrl)) {
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', 'createGeminiClient: GOOGLE_GEMINI_BASE_URL is not a URL');
  }
  if (!apiKey && new URL(baseUrl).hostname === new URL(DEFAULT_BASE_URL).hostname) {
    throw new GeminiBatchError(
      'ERR_INVALID_OPTIONS',
      'createGeminiClient: no API key (set apiKey, GOOGLE_API_KEY or GEMINI_API_KEY), or point baseUrl at the emulator',
    );
  }
  const retry = { ...DEFAULT_RETRY };
  for (const [k, v] of Object.entries(o.retry ?? {})) if (v !== undefined) retry[k as keyof typeof retry] = v;

  const http = new HttpTransport({
    apiKey,
    baseUrl,
    apiVersion: o.apiVersion ?? 'v1beta',
    connections: o.connections ?? 16,
    retry,
    ...(o.onRetry ? { onRetry: o.onRetry } : {}),
  });
  let closed: Promise<void> | undefined;
  return {
    files: createFilesApi(http),
    batches: createBatchesApi(http),
    models: createModelsApi(http),
    webhooks: createWebhooksApi(http),
    baseUrl,
    close: () => (closed ??= http.close()),
  };
}
