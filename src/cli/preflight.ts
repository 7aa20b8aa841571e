/**
 * Before a run touches OUT, its journal or the service: can it work at all?
 * A `--webhook-listen` port that cannot be bound is a usage error (exit 2);
 * an endpoint that does not answer, refuses the key or the API is a fatal
 * one (exit 1). Each is one sentence within seconds, instead of a progress
 * line saying "batches: none yet" while retries run out, or a chunk failing
 * after OUT was created. The embedded emulator (--emulator) is not probed.
 */
import { GeminiBatchError } from '../errors.js';
import { createGeminiClient } from '../backends/gemini/client.js';
import { GeminiApiError } from '../backends/gemini/errors.js';
import { probeService, type ProbeVerdict } from '../backends/gemini/probe.js';
import { probeListen } from '../webhook/listen.js';
import { connect } from './connection.js';
import type { BackendFlags } from './vertex-connection.js';
import { CliUsageError } from './errors.js';

/** The Developer API is probed; Vertex runs check their token and project on their first call. */
export interface PreflightFlags extends BackendFlags {
  emulator?: boolean;
  webhookListen?: { host: string; port: number };
}

/** A few quick tries: a refused connection is known within about a second, a silent host within the probe's deadline. */
const PREFLIGHT_RETRY = { maxAttempts: 3, initialDelayMs: 250, maxDelayMs: 1_000, maxElapsedMs: 5_000, requestTimeoutMs: 5_000 };

const UNTOUCHED = 'nothing was started and OUT was not touched';

export async function preflight(flags: PreflightFlags, signal?: AbortSignal): Promise<void> {
  if (flags.webhookListen) {
    try {
      await probeListen(flags.webhookListen.host, flags.webhookListen.port);
    } catch (err) {
      throw new CliUsageError(`--webhook-listen: ${(err as Error).message}`, { cause: err });
    }
  }
  if (flags.emulator || (flags.backend !== undefined && flags.backend !== 'gemini')) return;
  // Vertex-only flags without --backend vertex are refused here, before anything is sent.
  const conn = await connect({ project: flags.project, location: flags.location, bucket: flags.bucket });
  const client = createGeminiClient({
    ...(conn.baseUrl !== undefined ? { baseUrl: conn.baseUrl } : {}),
    retry: PREFLIGHT_RETRY,
  });
  let verdict: ProbeVerdict;
  try {
    verdict = await probeService(client, signal ? { signal } : {});
  } finally {
    await client.close();
    await conn.close();
  }
  if (!verdict.ok) throw new GeminiBatchError('ERR_GEMINI_HTTP', preflightSentence(verdict, conn.target), { cause: verdict.error });
}

/** The one sentence for a failed probe: what is wrong, with what, and where to look. */
export function preflightSentence(v: Extract<ProbeVerdict, { ok: false }>, target: string): string {
  const e = v.error;
  const said = e instanceof GeminiApiError ? (e.httpStatus === 0 ? e.errno ?? e.status : `${e.httpStatus} ${e.status}: ${e.message.replace(/^.*?: /, '')}`) : e.message;
  switch (v.problem) {
    case 'unreachable':
      return `cannot reach ${target} (${said}); ${UNTOUCHED}: check the network${target.startsWith('http') ? ' and GOOGLE_GEMINI_BASE_URL' : ''}`;
    case 'key':
      return `${target} refused the API key (${said}); ${UNTOUCHED}: check GEMINI_API_KEY / GOOGLE_API_KEY`;
    case 'access':
      return `${target} refused this key the Batch API (${said}); ${UNTOUCHED}: check the key's project has the Generative Language API and Batch access`;
    case 'not-api':
      return `${target} does not serve the Batch API (${said}); ${UNTOUCHED}: check GOOGLE_GEMINI_BASE_URL`;
  }
}
