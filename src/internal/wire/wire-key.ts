/**
 * The key on the wire is `<seq>:<userKey>`: the seq travels with every
 * request and comes back with every result, so results are matched by key
 * without holding a key→seq map, and duplicate user keys can never swap
 * results (DESIGN.md invariant 1).
 */

export function wireKey(seq: number, key: string): string {
  return `${seq}:${key}`;
}

/** Split a wire key "<seq>:<userKey>"; undefined when it is not one of ours. */
export function splitWireKey(k: unknown): { seq: number; userKey: string } | undefined {
  if (typeof k !== 'string') return undefined;
  const colon = k.indexOf(':');
  if (colon <= 0 || colon > 16) return undefined; // a seq is a safe integer: 16 digits at most
  let seq = 0;
  for (let i = 0; i < colon; i++) {
    const c = k.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    seq = seq * 10 + c;
  }
  return { seq, userKey: k.slice(colon + 1) };
}

/** Serialise one request line (exactly the bytes uploaded). */
export function serializeRequestLine(seq: number, key: string, request: unknown): Buffer {
  return Buffer.from(`{"key":${JSON.stringify(wireKey(seq, key))},"request":${JSON.stringify(request)}}\n`);
}
