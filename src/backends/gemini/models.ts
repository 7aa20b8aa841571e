/**
 * models/{m}:countTokens (PROTOCOL.md, "Prices"): free, no generation quota,
 * its own rate limit (about 3,000 a minute; the caller paces). Safe to
 * repeat, so retried like any read.
 */
import { z } from 'zod/v3';
import type { HttpTransport } from './http.js';
import { modelPath } from './names.js';
import type { ModelsApi } from './types.js';

const countTokensSchema = z
  .object({
    totalTokens: z.coerce.number().int().nonnegative().optional(),
    total_tokens: z.coerce.number().int().nonnegative().optional(),
  })
  .passthrough();

export function createModelsApi(http: HttpTransport): ModelsApi {
  return {
    countTokens: async (model, request, signal) => {
      // The full request goes as generateContentRequest (system instruction and tools count too).
      const body = JSON.stringify({ generateContentRequest: { model: modelPath(model), ...request } });
      const res = await http.retry(
        () => http.sendJson({ method: 'POST', url: http.api(`${modelPath(model)}:countTokens`), headers: { 'content-type': 'application/json' }, body, ...(signal ? { signal } : {}) }, countTokensSchema),
        signal ? { signal } : {},
      );
      return { totalTokens: res.totalTokens ?? res.total_tokens ?? 0 };
    },
  };
}
