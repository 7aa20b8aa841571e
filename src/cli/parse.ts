/** Flag value parsers: a bad value becomes commander's one-line usage error (exit 2). */
import { InvalidArgumentError } from 'commander';

export function positiveInt(v: string): number {
  const n = Number(v.replace(/_/g, ''));
  if (v.trim() === '' || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive integer, got "${v}".`);
  }
  return n;
}

export function nonNegativeInt(v: string): number {
  const n = Number(v.replace(/_/g, ''));
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`expected a non-negative integer, got "${v}".`);
  }
  return n;
}

/** `--generation-config '{"temperature":0}'`: must be a JSON object. */
export function jsonObject(v: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (err) {
    throw new InvalidArgumentError(`expected a JSON object: ${(err as Error).message}.`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError('expected a JSON object like \'{"temperature": 0}\'.');
  }
  return parsed as Record<string, unknown>;
}

export function oneOf<T extends string>(values: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(values as readonly string[]).includes(v)) {
      throw new InvalidArgumentError(`expected one of ${values.join(', ')}, got "${v}".`);
    }
    return v as T;
  };
}
