/**
 * undici, loaded only when the first request is made, and only the parts we
 * use: the Agent (with its pools and HTTP/1 client) and `request`. The
 * package's index also loads fetch, WebSocket, EventSource, caches and
 * mocks. Measured on this machine (Node 20, undici 7.30): the full index
 * costs 16.5 MB RSS and 125-200 ms to load, 26.5 MB after the first request;
 * these parts 8.5 MB and 55-85 ms, 19 MB after the first request. A process
 * that never calls the service (the emulator, --help) pays nothing.
 *
 * undici has no `exports` map, so these paths are importable; should a
 * future version move them, we fall back to the full package.
 */
import type { Agent as UndiciAgent, Dispatcher } from 'undici';

export interface UndiciParts {
  Agent: typeof UndiciAgent;
  request(dispatcher: Dispatcher, opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
}

// Held in variables so that neither TypeScript nor a bundler resolves them at build time.
const AGENT_MODULE = 'undici/lib/dispatcher/agent.js';
const REQUEST_MODULE = 'undici/lib/api/api-request.js';

type RequestFn = (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

let loaded: Promise<UndiciParts> | undefined;

async function load(): Promise<UndiciParts> {
  try {
    const [agentModule, requestModule] = (await Promise.all([import(AGENT_MODULE), import(REQUEST_MODULE)])) as [
      { default: typeof UndiciAgent },
      { default: RequestFn },
    ];
    const Agent = agentModule.default;
    const request = requestModule.default;
    if (typeof Agent !== 'function' || typeof request !== 'function') throw new Error('unexpected undici layout');
    return { Agent, request: (dispatcher, opts) => request.call(dispatcher, opts) };
  } catch {
    const full = await import('undici');
    return { Agent: full.Agent, request: (dispatcher, opts) => dispatcher.request(opts) };
  }
}

/** The parts, loaded once per process on first use. */
export function loadUndici(): Promise<UndiciParts> {
  return (loaded ??= load());
}
