/**
 * The emulated buckets: object bodies are files on disk (one per generation),
 * metadata is a small record in memory. Every bucket exists. A new generation
 * is renamed into place, so a download already streaming the old body keeps
 * reading it (the old inode) while new readers see the new one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ObjectHashes } from './checksums.js';
import { conditionNotMet, noSuchObject } from './errors.js';

export interface GcsObject extends ObjectHashes {
  bucket: string;
  name: string;
  size: number;
  /** Microseconds since the epoch, strictly increasing, like the service's. */
  generation: string;
  contentType: string;
  created: number;
  /** The body on disk. */
  file: string;
  metadata: Record<string, string> | undefined;
}

export interface NewObject extends ObjectHashes {
  size: number;
  contentType: string;
  metadata: Record<string, string> | undefined;
}

export interface ListQuery {
  prefix: string;
  delimiter: string;
  /** The last name a previous page covered. */
  after: string | undefined;
  maxResults: number;
}

export interface ListPage {
  items: GcsObject[];
  prefixes: string[];
  /** The last name this page covered, when more follow. */
  lastName: string | undefined;
}

export class ObjectStore {
  readonly dir: string;
  private readonly buckets = new Map<string, Map<string, GcsObject>>();
  private readonly now: () => number;
  private lastGeneration = 0;

  constructor(dir: string, now: () => number) {
    this.dir = dir;
    this.now = now;
    mkdirSync(dir, { recursive: true });
  }

  /** A fresh path in the store's directory for a body being written. */
  tmpPath(): string {
    return join(this.dir, `.tmp-${randomBytes(9).toString('hex')}`);
  }

  /** Drops a body that will not become an object. */
  discard(tmp: string): void {
    rmSync(tmp, { force: true });
  }

  get(bucket: string, name: string): GcsObject | undefined {
    return this.buckets.get(bucket)?.get(name);
  }

  require(bucket: string, name: string): GcsObject {
    const o = this.get(bucket, name);
    if (!o) throw noSuchObject(bucket, name);
    return o;
  }

  /** ifGenerationMatch: "0" = must not exist; otherwise the live generation. Null: no condition. */
  checkGeneration(bucket: string, name: string, ifGenerationMatch: string | null): void {
    if (ifGenerationMatch === null) return;
    const o = this.get(bucket, name);
    const ok = ifGenerationMatch === '0' ? o === undefined : o?.generation === ifGenerationMatch;
    if (!ok) throw conditionNotMet();
  }

  /** Moves a written body into place as the object's new generation; the condition is checked here, at the end. */
  commit(bucket: string, name: string, tmp: string, spec: NewObject, ifGenerationMatch: string | null): GcsObject {
    try {
      this.checkGeneration(bucket, name, ifGenerationMatch);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    const t = this.now();
    const generation = Math.max(t * 1000, this.lastGeneration + 1);
    this.lastGeneration = generation;
    const key = createHash('sha256').update(`${bucket}\n${name}`).digest('hex').slice(0, 32);
    const file = join(this.dir, `${key}-${generation}`);
    renameSync(tmp, file);
    let objects = this.buckets.get(bucket);
    if (!objects) this.buckets.set(bucket, (objects = new Map()));
    const old = objects.get(name);
    const o: GcsObject = { bucket, name, ...spec, generation: String(generation), created: t, file };
    objects.set(name, o);
    if (old) rmSync(old.file, { force: true });
    return o;
  }

  delete(bucket: string, name: string, ifGenerationMatch: string | null): void {
    const o = this.require(bucket, name);
    this.checkGeneration(bucket, name, ifGenerationMatch);
    this.buckets.get(bucket)?.delete(name);
    rmSync(o.file, { force: true });
  }

  /** Every object whose name starts with `prefix`, in name order (a job's wildcard input). */
  matching(bucket: string, prefix: string): GcsObject[] {
    const objects = this.buckets.get(bucket);
    if (!objects) return [];
    return [...objects.values()].filter((o) => o.name.startsWith(prefix)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * One page in name order. With a delimiter, names that go on past it after
   * the prefix fold into one prefix entry; items and prefixes both count
   * against maxResults.
   */
  list(bucket: string, q: ListQuery): ListPage {
    const objects = this.buckets.get(bucket);
    const names = objects ? [...objects.keys()].filter((n) => n.startsWith(q.prefix)).sort() : [];
    const items: GcsObject[] = [];
    const prefixes: string[] = [];
    let i = q.after === undefined ? 0 : names.findIndex((n) => n > q.after!);
    if (i < 0) i = names.length;
    let lastName: string | undefined;
    while (i < names.length && items.length + prefixes.length < q.maxResults) {
      const name = names[i]!;
      const cut = q.delimiter === '' ? -1 : name.indexOf(q.delimiter, q.prefix.length);
      if (cut >= 0) {
        const p = name.slice(0, cut + q.delimiter.length);
        prefixes.push(p);
        while (i < names.length && names[i]!.startsWith(p)) i++;
        lastName = names[i - 1];
      } else {
        items.push(objects!.get(name)!);
        lastName = name;
        i++;
      }
    }
    return { items, prefixes, lastName: i < names.length ? lastName : undefined };
  }

  /** The object resource as the JSON API answers it. */
  toResource(o: GcsObject, origin: string): Record<string, unknown> {
    const enc = encodeURIComponent(o.name);
    const time = new Date(o.created).toISOString();
    return {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${origin}/storage/v1/b/${o.bucket}/o/${enc}`,
      mediaLink: `${origin}/download/storage/v1/b/${o.bucket}/o/${enc}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket: o.bucket,
      generation: o.generation,
      metageneration: '1',
      contentType: o.contentType,
      storageClass: 'STANDARD',
      size: String(o.size),
      md5Hash: o.md5Hash,
      crc32c: o.crc32c,
      etag: `C${o.generation.slice(-8)}EAE=`,
      timeCreated: time,
      updated: time,
      timeStorageClassUpdated: time,
      ...(o.metadata ? { metadata: o.metadata } : {}),
    };
  }
}
