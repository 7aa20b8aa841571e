/**
 * Binding the receiver's port, and the one sentence when it cannot be bound
 * (the port is taken, not ours to take, or the address is not this host's).
 * `probeListen` binds and lets go at once, so a caller (the CLI) can refuse a
 * busy `--webhook-listen` before it touches anything it cannot undo.
 */
import { createServer, type Server } from 'node:net';
import { GeminiBatchError } from '../errors.js';

const WHY: Record<string, string> = {
  EADDRINUSE: 'the port is in use by another program',
  EACCES: 'this user may not listen on that port',
  EADDRNOTAVAIL: 'that address is not one of this host\'s',
};

/** The error for a failed listen: ERR_INVALID_OPTIONS (the address is the caller's to change), naming it and the fix. */
export function listenError(err: unknown, host: string, port: number): GeminiBatchError {
  const code = (err as { code?: unknown } | null)?.code;
  const why = (typeof code === 'string' && WHY[code]) || (err instanceof Error ? err.message : String(err));
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const fix = code === 'EADDRINUSE' || code === 'EACCES' ? 'pick another port (0 picks a free one)' : 'give an address of this host (127.0.0.1, 0.0.0.0)';
  return new GeminiBatchError('ERR_INVALID_OPTIONS', `cannot receive webhook events on ${where}: ${why}${typeof code === 'string' ? ` (${code})` : ''}; ${fix}`, { cause: err });
}

/** listen() as a promise that rejects with listenError (an http.Server is a net.Server). */
export async function listenOn(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown) => reject(listenError(err, host, port));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Bind host:port and let it go: throws listenError when a receiver could not listen there now. Port 0 always can. */
export async function probeListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  await listenOn(server, host, port);
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
