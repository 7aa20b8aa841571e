/** startEmulator checks its options before anything starts: a bad knob fails at once, naming itself. */
import { describe, expect, it } from 'vitest';
import { EmulatorOptionsError, startEmulator, type EmulatorOptions } from '../src/emulator/index.js';

describe('startEmulator options', () => {
  it('throws ERR_INVALID_OPTIONS synchronously, naming each bad option', () => {
    const bad = { requestErrorRate: 2, enqueuedTokenLimit: 'tier9', errorStatuses: [200] } as unknown as EmulatorOptions;
    let err: unknown;
    try {
      void startEmulator(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EmulatorOptionsError);
    expect((err as EmulatorOptionsError).code).toBe('ERR_INVALID_OPTIONS');
    expect((err as Error).message).toMatch(/requestErrorRate/);
    expect((err as Error).message).toMatch(/enqueuedTokenLimit/);
    expect((err as Error).message).toMatch(/errorStatuses/);
  });

  it('refuses an unknown option (a typo would otherwise run fault-free)', () => {
    expect(() => startEmulator({ shuffleResult: true } as unknown as EmulatorOptions)).toThrow(/shuffleResult/);
  });

  it('accepts every knob with a sensible value, without changing the caller object', async () => {
    const opts: EmulatorOptions = {
      port: 0,
      errorStatuses: [0, 503],
      enqueuedTokenLimit: { tier1: 1, '*': 5 },
      quotaRetryDelaySeconds: 0.1,
      omitInlineMetadata: true,
      succeededWithoutOutputPolls: 1,
      listLagMs: 1,
      statePrefix: 'JOB_STATE_',
      partialOutputOnFailure: true,
      storageLimitBytes: 10,
      webhookFaults: { drop: 0.1, duplicate: 0.1, forge: 0.1, delayMs: 1 },
      webhookMaxAttempts: 2,
      webhookRetryBaseMs: 1,
      responder: () => ({ response: {} }),
      failJobs: [1],
    };
    const copy = structuredClone({ ...opts, responder: undefined });
    const e = await startEmulator(opts);
    await e.close();
    expect({ ...opts, responder: undefined }).toEqual(copy);
  });
});
