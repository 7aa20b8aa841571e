/**
 * Preloaded into the CLI or the library child (`node --import .../mem-trace.js
 * <script> ...`, knob BENCH_TRACE=1) to say where its peak RSS goes: process.memoryUsage()
 * and V8's heap spaces every 20 ms; on exit, the sample with the highest RSS
 * (its breakdown) and the largest value of each part over the run, written to
 * the file named by BENCH_TRACE_OUT. Costs ~0.1% CPU; reading the heap
 * spaces allocates nothing the peak would notice.
 *
 * With BENCH_TRACE_HEAP_OUT also set, V8's sampling heap profiler runs (every
 * 32 KiB allocated) and, each time RSS passes its peak by 4 MB, the live
 * sampled allocations are saved there as a .heapprofile: what holds the heap
 * AT the peak, by allocating function (bench/profile-top.ts reads it). This
 * one costs CPU and some memory: use it for the breakdown, not the figures.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics } from 'node:v8';

const out = process.env.BENCH_TRACE_OUT;
const mb = (b: number) => Math.round(b / 104857.6) / 10;
const t0 = performance.now();
type Sample = Record<string, number>;
let peak: Sample = { rss: 0 };
let smapsAt = 0;
let peakMaps: string[] = [];

/** BENCH_TRACE_SMAPS=1: the mappings holding the most resident memory at the peak (glibc's [heap], thread arenas, V8 pages...). */
function largestMappings(): string[] {
  const maps: { name: string; sizeKb: number; rssKb: number }[] = [];
  let cur: { name: string; sizeKb: number; rssKb: number } | undefined;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      cur = { name: head[3] || 'anon', sizeKb: (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1024, rssKb: 0 };
      maps.push(cur);
    } else if (cur && line.startsWith('Rss:')) cur.rssKb = Number(/\d+/.exec(line)![0]);
  }
  const byName = new Map<string, number>();
  for (const m of maps) {
    const key = m.name.startsWith('/') ? 'files' : m.name === 'anon' ? `anon ${m.sizeKb >= 60 * 1024 ? '>=60MB' : m.sizeKb >= 1024 ? '1-60MB' : '<1MB'}` : m.name;
    byName.set(key, (byName.get(key) ?? 0) + m.rssKb);
  }
  const top = maps.filter((m) => m.name === 'anon' || m.name === '[heap]').sort((a, b) => b.rssKb - a.rssKb).slice(0, 8);
  return [
    ...[...byName].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${(v / 1024).toFixed(1)} MB`),
    ...top.map((m) => `top ${m.name} size ${(m.sizeKb / 1024).toFixed(1)} MB rss ${(m.rssKb / 1024).toFixed(1)} MB`),
  ];
}
const max: Sample = {};
/** When each part reached its largest value (s). */
const maxAt: Sample = {};
const timeline: number[] = [];
const abTimeline: number[] = [];

const heapOut = process.env.BENCH_TRACE_HEAP_OUT;
const session = heapOut ? new Session() : undefined;
if (session) {
  session.connect();
  session.post('HeapProfiler.startSampling', { samplingInterval: 32768 });
}
let profiledAt = 0;
/** The part whose peak the heap profile is taken at (BENCH_TRACE_PEAK_OF: rss, arrayBuffers, heapUsed...). */
const profileOn = process.env.BENCH_TRACE_PEAK_OF ?? 'rss';

function sample(): void {
  const m = process.memoryUsage();
  const s: Sample = {
    atS: Math.round(performance.now() - t0) / 1e3,
    rss: mb(m.rss),
    heapTotal: mb(m.heapTotal),
    heapUsed: mb(m.heapUsed),
    external: mb(m.external),
    arrayBuffers: mb(m.arrayBuffers),
  };
  for (const sp of getHeapSpaceStatistics()) s[`space.${sp.space_name}`] = mb(sp.space_size);
  for (const [k, v] of Object.entries(s)) {
    if (k === 'atS' || v <= (max[k] ?? 0)) continue;
    max[k] = v;
    maxAt[k] = s.atS!;
  }
  if (s.rss! > peak.rss!) {
    // Which kind of page the peak is made of: anonymous (heap, malloc) or file-backed (the node binary's code).
    for (const m of readFileSync('/proc/self/status', 'utf8').matchAll(/^(RssAnon|RssFile|RssShmem):\s+(\d+) kB/gm)) s[m[1]!] = Math.round(Number(m[2]) / 102.4) / 10;
    if (process.env.BENCH_TRACE_SMAPS && s.rss! > smapsAt + 2) {
      smapsAt = s.rss!;
      peakMaps = largestMappings();
    }
    peak = s;
  }
  if (session && s[profileOn]! > profiledAt + 4) {
    profiledAt = s[profileOn]!;
    session.post('HeapProfiler.getSamplingProfile', (err, r) => {
      if (!err) writeFileSync(heapOut!, JSON.stringify({ ...r.profile, atS: s.atS, rssMB: s.rss }));
    });
  }
  timeline.push(s.rss!);
  abTimeline.push(s.arrayBuffers!);
}

if (out) {
  setInterval(sample, 20).unref();
  process.once('exit', () => {
    sample();
    const step = Math.max(1, Math.ceil(timeline.length / 40));
    writeFileSync(out, JSON.stringify({ atPeak: peak, mappingsAtPeak: peakMaps, maxOfEach: max, maxAtS: maxAt, rssTimelineMB: timeline.filter((_, i) => i % step === 0), arrayBuffersTimelineMB: abTimeline.filter((_, i) => i % step === 0), timelineStepS: (step * 20) / 1000 }));
  });
}
