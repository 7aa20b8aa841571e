/**
 * Webhook options, validated once with zod at each public factory. The
 * schemas are exported so geminiBatch() can compose `webhook: {...}` into its
 * own options without restating them.
 */
import { z } from 'zod/v3';
import { Webhook } from 'standardwebhooks';
import { GeminiBatchError } from '../errors.js';

/**
 * The real service. Restated (not imported from api/client) so that a user who
 * only verifies deliveries in a serverless function does not load the HTTP client.
 */
export const DEFAULT_SERVICE_BASE_URL = 'https://generativelanguage.googleapis.com';

/** Deliveries are tiny JSON envelopes; anything near this is not one. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const httpUrl = z
  .string()
  .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'must be an http(s) URL');

/** A Standard Webhooks secret: `whsec_` + base64 of the key (the standardwebhooks package decodes it). */
const whsec = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must look like whsec_<base64>, as the WebhookService returns it')
  .refine((s) => {
    try {
      new Webhook(s);
      return true;
    } catch {
      return false;
    }
  }, 'is not a valid whsec_ secret');

/** One secret, or several while a rotation overlaps (the old one and the new one). */
export const webhookSecretSchema = z.union([whsec, z.array(whsec).min(1).max(8)]);

const listenSchema = z
  .object({
    /** Interface to bind, e.g. 127.0.0.1 behind a tunnel, 0.0.0.0 on a public host. */
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port. */
    port: z.number().int().min(0).max(65535),
    /** Path deliveries are POSTed to (default "/"). */
    path: z.string().startsWith('/').default('/'),
  })
  .strict();

/**
 * geminiBatch's `webhook` option: `{url, listen?, secret?}`. `url` is what the
 * service POSTs to (sent as `webhookConfig.uris`); with `listen` and no `url`,
 * the url defaults to the local server's.
 */
export const webhookOptionsSchema = z
  .object({
    url: httpUrl.optional(),
    listen: listenSchema.optional(),
    secret: webhookSecretSchema.optional(),
  })
  .strict()
  .refine((o) => o.url !== undefined || o.listen !== undefined, {
    message: 'needs url (where the service POSTs) or listen (a local server whose url is used)',
  });

export type WebhookOptions = z.input<typeof webhookOptionsSchema>;
export type ResolvedWebhookOptions = z.output<typeof webhookOptionsSchema>;

/** How deliveries are verified: see verifyWebhook(). */
export const webhookVerifyOptionsSchema = z
  .object({
    /** Service base URL; the JWKS is `<baseUrl>/.well-known/jwks.json`. Default GOOGLE_GEMINI_BASE_URL, else the real service. */
    baseUrl: httpUrl.optional(),
    /** Overrides the JWKS location derived from baseUrl. */
    jwksUrl: httpUrl.optional(),
    /** The url deliveries were configured for: a JWT `aud` claim, when present, must name it. */
    url: httpUrl.optional(),
    /** Secret(s) of the project's static webhook, for HMAC-signed deliveries. */
    secret: webhookSecretSchema.optional(),
    /** Clock skew allowed on a JWT's exp/nbf, in seconds. */
    clockToleranceSec: z.number().int().min(0).max(300).default(60),
    jwks: z
      .object({
        /** How long a fetched JWKS is trusted before it is fetched again (jose's cacheMaxAge). */
        cacheMaxAgeMs: z.number().int().min(0).default(10 * 60_000),
        /**
         * An unknown `kid` refetches the JWKS once, unless it was fetched less
         * than this long ago (jose's cooldownDuration): a stream of forged kids
         * cannot make us hammer the service. A delivery refused meanwhile is
         * retried by the service.
         */
        cooldownMs: z.number().int().min(0).default(30_000),
        timeoutMs: z.number().int().positive().default(5_000),
      })
      .strict()
      .default({}),
  })
  .strict();

export type WebhookVerifyOptions = z.input<typeof webhookVerifyOptionsSchema>;
export type ResolvedWebhookVerifyOptions = z.output<typeof webhookVerifyOptionsSchema>;

/** Parse with a schema; throw ERR_INVALID_OPTIONS naming the first bad field. */
export function parseOptions<S extends z.ZodTypeAny>(who: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : 'options';
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', `${who}: ${where} ${issue.message}`);
  }
  return parsed.data as z.output<S>;
}
