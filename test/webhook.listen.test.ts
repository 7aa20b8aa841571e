/** A receiver that cannot bind its port says so in one sentence naming the address and the fix; probeListen says it before anything starts. */
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeListen, startWebhookReceiver } from '../src/webhook/index.js';

let held: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (held ? held.close(() => resolve()) : resolve()));
  held = undefined;
});

async function holdPort(): Promise<number> {
  held = createServer();
  await new Promise<void>((resolve) => held!.listen(0, '127.0.0.1', resolve));
  return (held.address() as AddressInfo).port;
}

describe('webhook listen errors', () => {
  it('startWebhookReceiver on a busy port rejects with ERR_INVALID_OPTIONS naming the address', async () => {
    const port = await holdPort();
    const err = await startWebhookReceiver({ port, secret: `whsec_${Buffer.alloc(24, 1).toString('base64')}` }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect((err as Error).message).toBe(`cannot receive webhook events on 127.0.0.1:${port}: the port is in use by another program (EADDRINUSE); pick another port (0 picks a free one)`);
  });

  it('probeListen: a busy port throws the same error; a free one binds and lets go (it can be bound again)', async () => {
    const port = await holdPort();
    await expect(probeListen('127.0.0.1', port)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS', message: expect.stringContaining('EADDRINUSE') });
    await new Promise<void>((resolve) => held!.close(() => resolve()));
    held = undefined;
    await probeListen('127.0.0.1', port);
    await probeListen('127.0.0.1', port);
    await probeListen('127.0.0.1', 0);
  });

  it('an address that is not this host\'s says so', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never a local address.
    await expect(probeListen('192.0.2.1', 1)).rejects.toMatchObject({ message: expect.stringMatching(/on 192\.0\.2\.1:1: that address is not one of this host's \(EADDRNOTAVAIL\); give an address of this host/) });
  });
});
