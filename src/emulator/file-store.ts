/**
 * Files on disk: dataDir/files/<id>.bin holds the bytes, <id>.json the
 * metadata. Nothing of a file's content is ever held in memory.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isoTime, notFound } from './wire.js';

export const FILE_TTL_MS = 48 * 3600 * 1000;

export interface StoredFile {
  id: string;
  seq: number;
  displayName?: string;
  mimeType: string;
  sizeBytes: number;
  createTime: number;
  updateTime: number;
  expirationTime: number;
  /** Hex sha256 of the content. */
  sha256Hex: string;
  source: 'UPLOADED' | 'GENERATED';
  /** Non-empty lines, counted while the bytes arrived (the request count of a JSONL input). */
  lines: number;
}

/** The File resource, exactly as PROTOCOL.md shows it. */
export interface FileResource {
  name: string;
  displayName?: string;
  mimeType: string;
  sizeBytes: string;
  createTime: string;
  updateTime: string;
  expirationTime: string;
  sha256Hash: string;
  uri: string;
  state: 'ACTIVE';
  source: 'UPLOADED' | 'GENERATED';
  /** Generated files only: uploaded files cannot be downloaded. */
  downloadUri?: string;
}

export class FileStore {
  readonly dir: string;
  private readonly files = new Map<string, StoredFile>();
  private seq = 0;
  private readonly now: () => number;

  constructor(dataDir: string, now: () => number) {
    this.dir = join(dataDir, 'files');
    this.now = now;
    mkdirSync(this.dir, { recursive: true });
    this.load();
  }

  /** A restarted emulator over the same dataDir still serves the files it had. */
  private load(): void {
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const f = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as StoredFile;
        this.files.set(f.id, f);
        this.seq = Math.max(this.seq, f.seq);
      } catch {
        // A metadata file torn by a crash: its file is simply gone.
      }
    }
  }

  binPath(id: string): string {
    return join(this.dir, `${id}.bin`);
  }

  has(id: string): boolean {
    return this.peek(id) !== undefined;
  }

  /** The file, or undefined when unknown or expired (expired files are removed lazily). */
  peek(id: string): StoredFile | undefined {
    const f = this.files.get(id);
    if (f && f.expirationTime <= this.now()) {
      this.delete(id);
      return undefined;
    }
    return f;
  }

  get(id: string): StoredFile {
    const f = this.peek(id);
    if (!f) throw notFound(`File files/${id}`);
    return f;
  }

  /** Moves finished bytes at `tmpPath` into the store and records them. */
  add(
    tmpPath: string,
    meta: Omit<StoredFile, 'seq' | 'createTime' | 'updateTime' | 'expirationTime'>,
  ): StoredFile {
    const t = this.now();
    const f: StoredFile = { ...meta, seq: ++this.seq, createTime: t, updateTime: t, expirationTime: t + FILE_TTL_MS };
    renameSync(tmpPath, this.binPath(f.id));
    writeFileSync(join(this.dir, `${f.id}.json`), JSON.stringify(f));
    this.files.set(f.id, f);
    return f;
  }

  delete(id: string): void {
    this.files.delete(id);
    rmSync(this.binPath(id), { force: true });
    rmSync(join(this.dir, `${id}.json`), { force: true });
  }

  /** Bytes stored (unexpired files, uploaded and generated): what the project storage cap counts. */
  usedBytes(): number {
    let n = 0;
    for (const f of this.all()) n += f.sizeBytes;
    return n;
  }

  all(): Iterable<StoredFile> {
    const t = this.now();
    return [...this.files.values()].filter((f) => f.expirationTime > t);
  }

  toResource(f: StoredFile, baseUrl: string): FileResource {
    return {
      name: `files/${f.id}`,
      ...(f.displayName !== undefined ? { displayName: f.displayName } : {}),
      mimeType: f.mimeType,
      sizeBytes: String(f.sizeBytes),
      createTime: isoTime(f.createTime),
      updateTime: isoTime(f.updateTime),
      expirationTime: isoTime(f.expirationTime),
      // The service's odd encoding: base64 of the hex digest string, not of the digest bytes.
      sha256Hash: Buffer.from(f.sha256Hex, 'utf8').toString('base64'),
      uri: `${baseUrl}/v1beta/files/${f.id}`,
      state: 'ACTIVE',
      source: f.source,
      ...(f.source === 'GENERATED' ? { downloadUri: `${baseUrl}/download/v1beta/files/${f.id}:download?alt=media` } : {}),
    };
  }
}
