/**
 * A bench result as Markdown tables (for bench/README.md and the root README):
 *   npx tsx bench/report-md.ts [bench/out/last.json]
 */
import { readFileSync } from 'node:fs';

interface Fig {
  wallS: number | null;
  cpuS: number | null;
  userS: number | null;
  sysS: number | null;
  peakRssMB: number | null;
  rssP90MB?: number;
  MBps?: number;
  error?: string;
  skipped?: string;
  emulator?: { cpuS: number; peakRssMB: number };
}
interface Run {
  label: string;
  bytes: number;
  records: number;
  results: Record<string, Fig & { medians?: { wallS: number; cpuS: number | null; peakRssMB: number; peakRangeMB: [number, number] } }>;
  ratios: Record<string, number | null>;
}
interface Line {
  node: string;
  runs: Run[];
  goals: { goal: string; verdict: string; figures: Record<string, unknown> }[];
}
interface Result {
  lines: Line[];
  machine?: { benchNode: string; cpus: string; loadAvgBefore: number[]; loadAvgAfter: number[] };
  knobs?: { repeat: number };
  measured: string;
  date: string;
}

const r = JSON.parse(readFileSync(process.argv[2] ?? 'bench/out/last.json', 'utf8')) as Result;
// With BENCH_REPEAT > 1: the median of each figure, and the peak's min-max.
const cell = (f: Run['results'][string] | undefined): string[] => {
  if (!f) return ['', '', '', ''];
  if (f.skipped) return [f.skipped.includes('string') ? 'cannot run (V8 string limit)' : 'not run', '', '', ''];
  if (f.error) return [`failed: ${f.error.slice(0, 80)}`, '', '', ''];
  const m = f.medians;
  if (m) return [`${m.wallS} s`, `${m.cpuS} s`, `**${m.peakRssMB} MB** (${m.peakRangeMB[0]}-${m.peakRangeMB[1]})`, `${f.emulator?.cpuS ?? ''}`];
  return [`${f.wallS} s`, `${f.cpuS} s (${f.userS} + ${f.sysS})`, `**${f.peakRssMB} MB**`, `${f.emulator?.cpuS ?? ''}`];
};
const out: string[] = [];
// bench/out/partial.json (a run cut short) has only `lines` and `date`.
out.push(
  r.machine
    ? `${r.date.slice(0, 16).replace('T', ' ')} UTC, ${r.machine.cpus}, load average ${r.machine.loadAvgBefore.join(' / ')} before, ${r.machine.loadAvgAfter.join(' / ')} after; measured: ${r.measured}; ${r.knobs?.repeat ?? 1} run(s) per contender${(r.knobs?.repeat ?? 1) > 1 ? ' (medians, peak min-max)' : ''}.`
    : `${r.date.slice(0, 16).replace('T', ' ')} UTC: a run cut short (bench/out/partial.json), the contenders done by then.`,
);
out.push('');
out.push('| node | run | contender | wall | CPU | peak RSS | emulator CPU |');
out.push('|---|---|---|---|---|---|---|');
for (const line of r.lines) {
  for (const run of line.runs) {
    const head = `${line.node} | ${run.label} (${run.records.toLocaleString('en')} records)`;
    for (const [name, f] of Object.entries(run.results)) out.push(`| ${head} | ${name} | ${cell(f).join(' | ')} |`);
    const q = Object.entries(run.ratios).filter(([, v]) => v !== null);
    if (q.length) out.push(`| ${head} | ratios | ${q.map(([k, v]) => `${k} ${v}`).join(', ')} | | | |`);
  }
}
out.push('');
out.push('| node | goal | verdict | figures |');
out.push('|---|---|---|---|');
for (const line of r.lines) {
  for (const g of line.goals) out.push(`| ${line.node} | ${g.goal} | **${g.verdict}** | ${JSON.stringify(g.figures).replace(/"/g, '').replace(/\|/g, '/')} |`);
}
process.stdout.write(out.join('\n') + '\n');
