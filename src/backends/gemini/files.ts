/**
 * The Files API: upload (see upload.ts), get, list, delete and streaming
 * download. Every call but the upload pieces is idempotent and retried.
 *
 * Downloads use `GET /v1beta/files/{id}:download?alt=media`, the SDKs' path,
 * the one proven for the 42-char ids of batch output files; a cut one is
 * resumed with Range (download.ts). Those ids are
 * never sent to get or delete (the service refuses them with a 400): `get`
 * throws UnaddressableFileError locally, `delete` resolves `false` without a
 * request (the file expires 48 h after creation). `canGetOrDeleteFile(name)`
 * tells a caller beforehand.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { GeminiBatchError, abortError } from '../../errors.js';
import { openResumableDownload } from './download.js';
import type { HttpTransport } from './http.js';
import { MAX_ADDRESSABLE_FILE_ID, canGetOrDeleteFile, pageQuery, resourcePath } from './names.js';
import { fileSchema, listFilesSchema } from './schemas.js';
import type { FilesApi, GeminiFile } from './types.js';
import { queryUpload, uploadFile } from './upload.js';

/**
 * `files.get` on an id the service cannot address (over 40 chars: a batch's
 * output file). Thrown locally, before any request. Code ERR_INVALID_OPTIONS:
 * the call itself is the mistake, and its message says what to do instead.
 */
export class UnaddressableFileError extends GeminiBatchError {
  readonly fileName: string;
  constructor(fileName: string, call: 'get' | 'delete') {
    super(
      'ERR_INVALID_OPTIONS',
      `files.${call}(${JSON.stringify(fileName)}): the service cannot ${call} a file whose id is over ${MAX_ADDRESSABLE_FILE_ID} characters ` +
        '(a batch output file); download it instead. It expires 48 h after it was created.',
    );
    this.name = 'UnaddressableFileError';
    this.fileName = fileName;
  }
}

export function createFilesApi(http: HttpTransport): FilesApi {
  const sig = (signal?: AbortSignal) => (signal ? { signal } : {});

  /** The media of a file, resumed with Range after a cut (download.ts). */
  const openDownload = (name: string, signal?: AbortSignal) =>
    openResumableDownload(http, http.api(`${resourcePath('files', name)}:download?alt=media`), signal);

  return {
    upload: (path, opts) => uploadFile(http, path, opts),

    queryUpload: (uploadUrl, signal) => http.retry(() => queryUpload(http, uploadUrl, signal), sig(signal)).then(({ status, received }) => ({ status, received })),

    get: async (name, signal) => {
      if (!canGetOrDeleteFile(name)) throw new UnaddressableFileError(name, 'get');
      return http.retry(() => http.sendJson({ method: 'GET', url: http.api(resourcePath('files', name)), ...sig(signal) }, fileSchema), sig(signal)) as Promise<GeminiFile>;
    },

    list: (opts = {}) => ({
      async *[Symbol.asyncIterator]() {
        let pageToken: string | undefined;
        do {
          const url = http.api(`files${pageQuery(opts.pageSize, pageToken)}`);
          const page = await http.retry(() => http.sendJson({ method: 'GET', url, ...sig(opts.signal) }, listFilesSchema), sig(opts.signal));
          for (const f of page.files ?? []) yield f as GeminiFile;
          pageToken = page.nextPageToken || undefined;
        } while (pageToken);
      },
    }),

    delete: async (name, signal) => {
      // Best effort by nature: the service refuses it (400) and the file expires on its own.
      if (!canGetOrDeleteFile(name)) return false;
      const url = http.api(resourcePath('files', name));
      await http.retry(async () => {
        const res = await http.send({ method: 'DELETE', url, ...sig(signal) });
        res.body.resume();
      }, sig(signal));
      return true;
    },

    download: (name, signal) => openDownload(name, signal),

    downloadToFile: async (name, path, signal) => {
      // The bytes go to a temp name first, so a failed download never leaves a truncated file under the final name.
      const tmp = `${path}.part-${process.pid}`;
      const sink = createWriteStream(tmp);
      try {
        await pipeline(await openDownload(name, signal), sink, sig(signal));
      } catch (err) {
        sink.destroy();
        await rm(tmp, { force: true });
        if (signal?.aborted) throw abortError(signal);
        throw err;
      }
      await rename(tmp, path);
      return sink.bytesWritten;
    },
  };
}
