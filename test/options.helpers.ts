/** Shared checks for the option-family tests: a coded, synchronous refusal and an untouched caller object. */
import { expect } from 'vitest';
import { GeminiBatchError } from '../src/errors.js';

export function expectRefused(make: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    make();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(GeminiBatchError);
  expect((thrown as GeminiBatchError).code).toBe('ERR_INVALID_OPTIONS');
  expect((thrown as Error).message).toMatch(message);
}

/** A deep copy to compare with after the call, and a deep-frozen original: a write throws in strict mode. */
export function frozen<T extends object>(o: T): { value: T; copy: T } {
  const copy = structuredClone(o);
  const freeze = (v: unknown) => {
    if (v && typeof v === 'object') {
      Object.freeze(v);
      for (const x of Object.values(v)) freeze(x);
    }
  };
  freeze(o);
  return { value: o, copy };
}
