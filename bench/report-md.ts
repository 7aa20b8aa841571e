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
interface Result {
  runs: { label: string; bytes: number; records: number; results: Record<string, Fig>; ratios: Record<string, number | null> }[];
  goals: { goal: string; verdict: string; figures: Record<string, unknown> }[];
  machine: { node: string; cpus: string; loadAvgBefore: number[]; loadAvgAfter: number[] };
  measured: string;
  date: string;
}

const r = JSON.parse(readFileSync(process.argv[2] ?? 'bench/out/last.json', 'utf8')) as Result;
const cell = (f: Fig | undefined): string[] => {
  if (!f) return ['', '', '', ''];
  if (f.skipped) return [f.skipped.includes('string') ? 'cannot run (V8 string limit)' : 'not run', '', '', ''];
  if (f.error) return [`failed: ${f.error.slice(0, 80)}`, '', '', ''];
  return [`${f.wallS} s`, `${f.cpuS} s (${f.userS} + ${f.sysS})`, `**${f.peakRssMB} MB**`, `${f.emulator?.cpuS ?? ''}`];
};
const lines: string[] = [];
lines.push(`${r.date.slice(0, 16).replace('T', ' ')} UTC, Node ${r.machine.node}, ${r.machine.cpus}, load average ${r.machine.loadAvgBefore.join(' / ')} before, ${r.machine.loadAvgAfter.join(' / ')} after; measured: ${r.measured}.`);
lines.push('');
lines.push('| run | contender | wall | CPU (user + sys) | peak RSS | emulator CPU |');
lines.push('|---|---|---|---|---|---|');
for (const run of r.runs) {
  const head = `${run.label} (${run.records.toLocaleString('en')} records)`;
  for (const [name, f] of Object.entries(run.results)) lines.push(`| ${head} | ${name} | ${cell(f).join(' | ')} |`);
  const q = run.ratios;
  if (Object.values(q).some((v) => v !== null)) {
    lines.push(
      `| ${head} | ratios | wall/sdk ${q.cliWallVsSdk ?? '-'} | CPU/floor ${q.cliCpuVsFloor ?? '-'} | RSS/sdk ${q.cliRssVsSdk ?? '-'} | wall/floor ${q.cliWallVsFloor ?? '-'} |`,
    );
  }
}
lines.push('');
lines.push('| goal | verdict | figures |');
lines.push('|---|---|---|');
for (const g of r.goals) lines.push(`| ${g.goal} | **${g.verdict}** | ${JSON.stringify(g.figures).replace(/"/g, '').replace(/\|/g, '/')} |`);
process.stdout.write(lines.join('\n') + '\n');
