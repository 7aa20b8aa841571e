/**
 * Vertex's line rules and row readers, pure: the seq label spliced into a
 * request line's bytes (key first, other labels kept), the fields Vertex
 * refuses named in one sentence, the byte search that lets clean lines skip
 * the parse, a failed row's status text read into {code, message, status},
 * and a part's name mapped to its object path.
 */
import { describe, expect, it } from 'vitest';
import { encodeLine, refuse, suspect, vertexWire } from '../src/backends/vertex/codec.js';
import { fastRequestLine } from '../src/internal/wire/request-line-fast.js';
import { objectPathOf } from '../src/backends/vertex/backend.js';
import { rowError } from '../src/backends/vertex/row-status.js';
import { normaliseState } from '../src/backends/vertex/jobs.js';
import { readLineKey } from '../src/internal/wire/result-line.js';
import { serializeRequestLine, serializeRequestLineWithTail } from '../src/internal/wire/wire-key.js';

describe('encodeLine', () => {
  it('splices the seq label into the request, keeping the key first', () => {
    const line = serializeRequestLine(41, 'user key "q"', { contents: [{ role: 'user', parts: [{ text: 'a } b' }] }] });
    const out = encodeLine(line, 41);
    expect(out.at(-1)).toBe(0x0a);
    const parsed = JSON.parse(out.toString()) as { key: string; request: { labels: Record<string, string>; contents: unknown } };
    expect(parsed.key).toBe('41:user key "q"');
    expect(parsed.request.labels).toEqual({ gbs_seq: '41' });
    expect(parsed.request.contents).toEqual([{ role: 'user', parts: [{ text: 'a } b' }] }]);
    expect(readLineKey(out)?.seq).toBe(41);
    expect(readLineKey(out)?.at).toBe('first');
  });

  it('takes the request member names when stage 1 gives them, instead of searching the line', () => {
    const line = serializeRequestLine(5, 'k', { contents: [{ role: 'user', parts: [{ text: 'say "labels"' }] }] });
    const out = JSON.parse(encodeLine(line, 5, new Set(['contents'])).toString()) as { request: { labels: unknown } };
    expect(out.request.labels).toEqual({ gbs_seq: '5' });
    const theirs = serializeRequestLine(6, 'k', { contents: [], labels: { team: 'x' } });
    expect(JSON.parse(encodeLine(theirs, 6, new Set(['contents', 'labels'])).toString())).toEqual({ key: '6:k', request: { contents: [], labels: { team: 'x', gbs_seq: '6' } } });
  });

  it('stage 1 writes the label in its one copy of a raw line: the same bytes encodeLine makes of the canonical line', () => {
    for (const raw of [
      '{"key":"k1","request":{"contents":[{"role":"user","parts":[{"text":"東京 \\"q\\" }"}]}],"generationConfig":{"temperature":0.2}}}',
      '{"request":{"contents":[{"parts":[{"text":"x"}]}]} }  ',
      '{"key":"a b","request":{ "contents" : [ {"parts":[]} ] } }',
    ]) {
      const plain = fastRequestLine(Buffer.from(raw), 1234)!;
      const tailed = fastRequestLine(Buffer.from(raw), 1234, vertexWire)!;
      expect(tailed.tailed).toBe(true);
      expect(tailed.line.toString()).toBe(encodeLine(plain.line, 1234).toString());
      expect(JSON.parse(tailed.line.toString()).request.labels).toEqual({ gbs_seq: '1234' });
    }
    // The library's objects: the label goes in as the request is serialised, the same bytes again.
    const request = { contents: [{ role: 'user', parts: [{ text: 'a } "b"' }] }], generationConfig: { temperature: 1 } };
    const tail = vertexWire.requestTail!(77, new Set(Object.keys(request)))!;
    expect(serializeRequestLineWithTail(77, 'k "1"', request, tail)!.toString()).toBe(encodeLine(serializeRequestLine(77, 'k "1"', request), 77).toString());
    expect(serializeRequestLineWithTail(77, 'k', {}, tail)).toBeUndefined(); // no member to follow: encodeLine's way
    // A request with labels of its own is left to encodeLine, which merges them.
    const own = fastRequestLine(Buffer.from('{"key":"k","request":{"contents":[1],"labels":{"team":"x"}}}'), 5, vertexWire)!;
    expect(own.tailed).toBe(false);
    expect(JSON.parse(encodeLine(own.line, 5, own.fields).toString()).request.labels).toEqual({ team: 'x', gbs_seq: '5' });
  });

  it('labels an empty request, and merges into labels the user set', () => {
    expect(JSON.parse(encodeLine(Buffer.from('{"key":"0:a","request":{}}\n'), 0).toString())).toEqual({ key: '0:a', request: { labels: { gbs_seq: '0' } } });
    const withLabels = encodeLine(serializeRequestLine(3, 'b', { contents: [], labels: { team: 'x' } }), 3);
    expect(JSON.parse(withLabels.toString())).toEqual({ key: '3:b', request: { contents: [], labels: { team: 'x', gbs_seq: '3' } } });
    expect(readLineKey(withLabels)?.at).toBe('first');
  });
});

describe('refuse and suspect', () => {
  it('names every refused field in one sentence, and takes the rest', () => {
    expect(refuse({ contents: [{ parts: [{ text: 'x' }] }] })).toBeUndefined();
    expect(refuse({ contents: [{ parts: [{ fileData: { fileUri: 'gs://b/o.png' } }] }] })).toBeUndefined();
    const msg = refuse({ cachedContent: 'cachedContents/1', store: true, contents: [{ parts: [{ fileData: { fileUri: 'files/abc' } }] }] });
    expect(msg).toMatch(/^Vertex AI batch does not take cachedContent, store, a Files API URI \(files\/…\)/);
    expect(msg!.split('. ')).toHaveLength(1);
  });

  it('clears lines without the refused names so they skip the parse', () => {
    expect(suspect(Buffer.from('{"key":"a","request":{"contents":[]}}'), new Set(['contents']))).toBe(false);
    expect(suspect(Buffer.from('{"request":{"cachedContent":"c"}}'), new Set(['cachedContent']))).toBe(true);
    expect(suspect(Buffer.from('{"request":{"cached_content":"c"}}'), new Set(['cachedContent']))).toBe(true);
    expect(suspect(Buffer.from('{"request":{"contents":[],"store":false}}'), new Set(['contents', 'store']))).toBe(true);
    expect(suspect(Buffer.from('{"request":{"contents":[{"parts":[{"fileData":{"fileUri":"files/x"}}]}]}}'), new Set(['contents']))).toBe(true);
  });

  it('finds a Files API URI at any depth of the contents, and only as a fileUri', () => {
    const part = (p: unknown) => ({ contents: [{ role: 'user', parts: [p] }] });
    expect(refuse(part({ file_data: { file_uri: 'files/abc', mime_type: 'image/png' } }))).toMatch(/Files API URI/);
    expect(refuse(part({ functionResponse: { response: { nested: [{ fileData: { fileUri: 'files/x' } }] } } }))).toMatch(/Files API URI/);
    expect(refuse(part({ text: '"fileUri":"files/abc"' }))).toBeUndefined();
    expect(refuse(part({ fileData: { fileUri: 'gs://b/files/abc' } }))).toBeUndefined();
    // Only what the request serialises to counts: an inherited member is not sent.
    const inherited = Object.create({ fileUri: 'files/abc' }) as Record<string, unknown>;
    expect(JSON.stringify(inherited)).toBe('{}');
    expect(refuse(part({ fileData: inherited }))).toBeUndefined();
  });
});

describe('rowError', () => {
  it('reads the embedded Google error of a status text', () => {
    const text = 'Internal error occurred. Failed to get generateContentResponse: {"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}';
    expect(rowError(text)).toEqual({ code: 429, message: text, status: 'RESOURCE_EXHAUSTED' });
    expect(rowError('Bad Request: {"error":{"code":400,"message":"x"}}')).toEqual({ code: 400, message: 'Bad Request: {"error":{"code":400,"message":"x"}}', status: 'INVALID_ARGUMENT' });
  });

  it('takes a status name from free text, else INTERNAL (13)', () => {
    expect(rowError('quota: RESOURCE_EXHAUSTED for model')).toMatchObject({ code: 8, status: 'RESOURCE_EXHAUSTED' });
    expect(rowError('something broke')).toEqual({ code: 13, message: 'something broke', status: 'INTERNAL' });
  });
});

describe('names and states', () => {
  it('maps a part name <runId>-<label> to <runId>/<label>', () => {
    expect(objectPathOf('gb-abc12-3')).toBe('gb-abc12/3');
    expect(objectPathOf('run-1-2-a3')).toBe('run-1/2-a3');
    expect(objectPathOf('r-5-a2-3.rest1.b')).toBe('r-5-a2/3.rest1.b');
  });

  it('normalises every JOB_STATE_ and keeps the live ones live', () => {
    expect(['QUEUED', 'PENDING'].map((s) => normaliseState(`JOB_STATE_${s}`))).toEqual(['PENDING', 'PENDING']);
    expect(['RUNNING', 'UPDATING', 'PAUSED', 'CANCELLING'].map((s) => normaliseState(`JOB_STATE_${s}`))).toEqual(['RUNNING', 'RUNNING', 'RUNNING', 'RUNNING']);
    expect(normaliseState('JOB_STATE_PARTIALLY_SUCCEEDED')).toBe('SUCCEEDED');
    expect(['FAILED', 'CANCELLED', 'EXPIRED'].map((s) => normaliseState(`JOB_STATE_${s}`))).toEqual(['FAILED', 'CANCELLED', 'EXPIRED']);
    expect(normaliseState('JOB_STATE_NEW_THING')).toBe('UNSPECIFIED');
  });
});
