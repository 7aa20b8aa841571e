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

/** A positive amount of US dollars, e.g. `--max-cost 25` or `--max-cost 0.50` (a leading $ is allowed). */
export function positiveUsd(v: string): number {
  const n = Number(v.trim().replace(/^\$/, '').replace(/_/g, ''));
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected an amount of US dollars above 0, like 25 or 0.50, got "${v}".`);
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

/** `--webhook-listen HOST:PORT` (or `[::1]:PORT`, or just PORT for 127.0.0.1). */
export function hostPort(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`expected HOST:PORT like 127.0.0.1:8787 (port 0 picks a free one), got "${v}".`);
  const host = m[1] || m[2] || '127.0.0.1';
  return { host, port };
}

/** An http(s) URL. */
export function httpUrl(v: string): string {
  if (!URL.canParse(v) || !/^https?:$/.test(new URL(v).protocol)) throw new InvalidArgumentError(`expected an http(s) URL, got "${v}".`);
  return v;
}

/** A usage tier: 1, 2 or 3. */
export function tier(v: string): 1 | 2 | 3 {
  if (v !== '1' && v !== '2' && v !== '3') throw new InvalidArgumentError(`expected 1, 2 or 3, got "${v}".`);
  return Number(v) as 1 | 2 | 3;
}
