/** A client for the jobs/files commands, from the same environment the run command reads. */
import { createGeminiClient } from '../backends/gemini/client.js';
import type { GeminiClient } from '../backends/gemini/types.js';
import { connect } from './connection.js';

/** Calls fn with a client and always closes it. */
export async function withClient<T>(fn: (client: GeminiClient) => Promise<T>): Promise<T> {
  const conn = await connect({});
  const client = createGeminiClient({ ...(conn.baseUrl ? { baseUrl: conn.baseUrl } : {}), retry: { maxElapsedMs: 60_000 } });
  try {
    return await fn(client);
  } finally {
    await client.close();
    await conn.close();
  }
}
