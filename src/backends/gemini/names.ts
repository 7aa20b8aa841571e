/**
 * Resource names: callers may pass 'files/abc' or 'abc'. The id goes into a
 * URL path we build, so it is percent-encoded: a name can never smuggle in a
 * query string or another path segment.
 */
import { GeminiBatchError } from '../../errors.js';

export function resourcePath(collection: 'files' | 'batches' | 'webhooks', name: string): string {
  const prefix = `${collection}/`;
  const id = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  if (id === '') throw new GeminiBatchError('ERR_INVALID_OPTIONS', `empty ${collection} name: ${JSON.stringify(name)}`);
  return `${prefix}${encodeURIComponent(id)}`;
}

/** 'gemini-x' → 'models/gemini-x'; anything with a slash (models/…, tunedModels/…) is taken as is. */
export function modelPath(model: string): string {
  if (model.trim() === '') throw new GeminiBatchError('ERR_INVALID_OPTIONS', 'model must not be empty');
  return model.includes('/') ? model : `models/${model}`;
}

export function pageQuery(pageSize: number | undefined, pageToken: string | undefined): string {
  const q = new URLSearchParams();
  if (pageSize !== undefined) q.set('pageSize', String(pageSize));
  if (pageToken) q.set('pageToken', pageToken);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * The longest file id the service lets us GET or DELETE. Uploaded files get
 * at most 40 chars; a batch's output file is `files/batch-<36-char batch id>`
 * (42), and the service answers 400 INVALID_ARGUMENT ("File ID ... cannot be
 * more than 40 characters") to get and delete on it. Such files can only be
 * downloaded; they count against the project's 20 GB until they expire, 48 h
 * after creation.
 */
export const MAX_ADDRESSABLE_FILE_ID = 40;

/** The bare id of a file name: 'files/abc' → 'abc'. */
export function fileId(name: string): string {
  return name.startsWith('files/') ? name.slice('files/'.length) : name;
}

/**
 * True when `files.get` / `files.delete` may be called on this file: its id
 * is at most 40 chars. False for service-generated output files
 * (`files/batch-<36>`), which can only be downloaded and expire after 48 h.
 */
export function canGetOrDeleteFile(name: string): boolean {
  return fileId(name).length <= MAX_ADDRESSABLE_FILE_ID;
}
