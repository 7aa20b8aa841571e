/**
 * Seeded randomness (mulberry32) so every fault decision in a test run is
 * repeatable from `seed`.
 */
import { randomBytes } from 'node:crypto';

export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** k distinct integers in [0, n), drawn without holding n items. */
export function sampleIndexes(rng: Rng, n: number, k: number): Set<number> {
  const out = new Set<number>();
  const want = Math.min(k, n);
  while (out.size < want) out.add(Math.floor(rng() * n));
  return out;
}

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Resource ids like the service's: [a-z0-9]{len}. Not from the seeded PRNG:
 * two emulators with the same seed over one dataDir must not collide.
 */
export function randomId(len = 12): string {
  const bytes = randomBytes(len);
  let s = '';
  for (let i = 0; i < len; i++) s += ID_CHARS[bytes[i]! % ID_CHARS.length];
  return s;
}
