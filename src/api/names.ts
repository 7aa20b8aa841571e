/**
 * Resource names: callers may pass 'files/abc' or 'abc'. The id goes into a
 * URL path we build, so it is percent-encoded: a name can never smuggle in a
 * query string or another path segment.
 */
import { GeminiBatchError } from '../errors.js';

export function resourcePath(collection: 'files' | 'batches', name: string): string {
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
