/**
 * INPUT as a Cloud Storage pattern, `gs://B/in/*.jsonl`: listed by the literal
 * prefix before its first wildcard (a plain list, no delimiter) and filtered
 * by the glob (picomatch: `*` within one path segment, `**` across them,
 * `?`, `[...]`, `{a,b}`), in name order. A pattern without a wildcard names
 * one object.
 */
import picomatch from 'picomatch';
import { parseGsUri, type Gcs, type GcsObject } from '../../backends/vertex/gcs.js';
import { CliUsageError } from '../errors.js';

export interface GcsPattern {
  uri: string;
  bucket: string;
  /** The literal part of the object name before the first wildcard. */
  prefix: string;
  matches(name: string): boolean;
}

const WILDCARD = /[*?[{]/;

export function parsePattern(uri: string): GcsPattern {
  let parts: { bucket: string; name: string };
  try {
    parts = parseGsUri(uri);
  } catch {
    throw new CliUsageError(`INPUT ${uri} is not a Cloud Storage pattern such as gs://BUCKET/in/*.jsonl`);
  }
  const { bucket, name } = parts;
  if (!bucket || !name) throw new CliUsageError(`INPUT ${uri} names no objects: give gs://BUCKET/PATH/*.jsonl (or one object)`);
  const at = name.search(WILDCARD);
  if (at < 0) return { uri, bucket, prefix: name, matches: (n) => n === name };
  const isMatch = picomatch(name, { dot: true });
  return { uri, bucket, prefix: name.slice(0, at), matches: (n) => isMatch(n) };
}

/** The objects matching the pattern, in name order (Cloud Storage lists in name order; sorted again to be sure). */
export async function listMatching(gcs: Gcs, p: GcsPattern, signal?: AbortSignal): Promise<GcsObject[]> {
  const found: GcsObject[] = [];
  for await (const o of gcs.list(p.bucket, p.prefix, signal)) if (!o.name.endsWith('/') && p.matches(o.name)) found.push(o);
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
