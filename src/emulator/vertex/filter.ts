/**
 * The list `filter` grammar the batch client needs: terms joined by AND, each
 * `display_name="x"`, `state=JOB_STATE_X` (or `!=`), `labels.k="v"`,
 * `labels.k:*` (has the label), `create_time>"RFC 3339"` (and <, >=, <=).
 * Anything else is refused (400), so a client never mistakes an ignored
 * filter for an empty answer.
 */
import { invalid } from '../wire.js';
import type { VertexJob } from './job.js';

export type JobFilter = (j: VertexJob) => boolean;

const TERM = /^(display_name|displayName|state|create_time|createTime|labels\.[A-Za-z0-9_-]+)\s*(!=|>=|<=|=|>|<|:)\s*(.+)$/;

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/\\"/g, '"') : t;
}

function compare(a: number, op: string, b: number): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    default:
      return a <= b;
  }
}

function term(text: string): JobFilter {
  const m = TERM.exec(text.trim());
  if (!m) throw invalid(`Unsupported filter term: ${text.trim()}`);
  const [, field, op, raw] = m as unknown as [string, string, string, string];
  const value = unquote(raw);
  if (field.startsWith('labels.')) {
    const key = field.slice(7);
    if (op === ':' && value === '*') return (j) => key in j.labels;
    if (op === '=') return (j) => j.labels[key] === value;
    if (op === '!=') return (j) => j.labels[key] !== value;
    throw invalid(`Unsupported filter term: ${text.trim()}`);
  }
  if (field === 'display_name' || field === 'displayName') {
    if (op === '=') return (j) => j.displayName === value;
    if (op === '!=') return (j) => j.displayName !== value;
    throw invalid(`Unsupported filter term: ${text.trim()}`);
  }
  if (field === 'state') {
    const want = value.replace(/^JOB_STATE_/, '');
    if (op === '=') return (j) => j.state === want;
    if (op === '!=') return (j) => j.state !== want;
    throw invalid(`Unsupported filter term: ${text.trim()}`);
  }
  const t = Date.parse(value);
  if (Number.isNaN(t) || op === ':') throw invalid(`Unsupported filter term: ${text.trim()}`);
  return (j) => compare(j.createTime, op, t);
}

/** Parses a filter once; an empty filter matches every job. */
export function parseFilter(filter: string | null): JobFilter {
  if (filter === null || filter.trim() === '') return () => true;
  const terms = filter.split(/\s+AND\s+/).map(term);
  return (j) => terms.every((t) => t(j));
}
