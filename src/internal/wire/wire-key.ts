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

/**
 * serializeRequestLine with `tail` (a backend's request tail, `,"name":…`)
 * written before the request's closing brace, in the same one encoding;
 * undefined when the request does not serialise as an object with members.
 */
export function serializeRequestLineWithTail(seq: number, key: string, request: unknown, tail: string): Buffer | undefined {
  const body = JSON.stringify(request);
  if (typeof body !== 'string' || body.length < 3 || body[0] !== '{' || body[body.length - 1] !== '}') return undefined;
  return Buffer.from(`{"key":${JSON.stringify(wireKey(seq, key))},"request":${body.slice(0, -1)}${tail}}}\n`);
}
