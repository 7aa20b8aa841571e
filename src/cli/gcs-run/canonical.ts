/**
 * How an output row is matched to its input line when the service echoes
 * only the request, re-serialised (snake_case names, explicit nulls, its own
 * key order): both sides are reduced to one canonical form (names
 * camelCased, nulls and empty objects/arrays dropped, keys sorted) and
 * hashed (16 bytes of sha256). Identical requests hash alike: they are
 * interchangeable, and the caller hands their answers out in line order.
 */
import { createHash } from 'node:crypto';

export const HASH_BYTES = 16;

const camel = (s: string): string => (s.includes('_') ? s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()) : s);

/** The canonical JSON text of a value; undefined for what is dropped (null, {}, []). */
export function canonicalJson(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) {
    const items = v.map((x) => canonicalJson(x) ?? 'null');
    return items.length ? `[${items.join(',')}]` : undefined;
  }
  if (typeof v === 'object') {
    const members: Array<[string, string]> = [];
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const c = canonicalJson(x);
      if (c !== undefined) members.push([camel(k), c]);
    }
    if (!members.length) return undefined;
    members.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return `{${members.map(([k, c]) => `${JSON.stringify(k)}:${c}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function hash16(text: string): Buffer {
  return createHash('sha256').update(text).digest().subarray(0, HASH_BYTES);
}

/** The hash of a request's canonical form. */
export function requestHash(request: unknown): Buffer {
  return hash16(`r${canonicalJson(request) ?? ''}`);
}

/** The hash of a top-level `key` value (as JSON), or of a `gbs_seq` label. */
export const keyHash = (key: unknown): Buffer => hash16(`k${JSON.stringify(key)}`);
export const labelHash = (label: string): Buffer => hash16(`l${label}`);
