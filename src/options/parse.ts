/**
 * The one options normaliser: every public factory parses its options with
 * its schema once, up front, and throws ERR_INVALID_OPTIONS synchronously
 * naming the option. zod returns a new object: the caller's is never touched.
 */
import type { z } from 'zod/v3';
import { GeminiBatchError } from '../errors.js';

export function parseOptions<S extends z.ZodTypeAny>(schema: S, input: unknown, who: string): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `option ${issue.path.join('.')}` : 'options';
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', `${who}: ${where}: ${issue.message}`);
  }
  return parsed.data as z.output<S>;
}

/** The options of `from` that `schema` knows (a stage's share of geminiBatch's options). */
export function pickFor<S extends z.AnyZodObject>(schema: S, from: object): Partial<z.input<S>> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(schema.shape as object)) {
    const v = (from as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out as Partial<z.input<S>>;
}
