/**
 * Preloaded into the CLI (`node --import .../mem-trace.js bin ...`, knob
 * BENCH_CLI_TRACE=1) to say where its peak RSS goes: process.memoryUsage()
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
    writeFileSync(out, JSON.stringify({ atPeak: peak, maxOfEach: max, maxAtS: maxAt, rssTimelineMB: timeline.filter((_, i) => i % step === 0), arrayBuffersTimelineMB: abTimeline.filter((_, i) => i % step === 0), timelineStepS: (step * 20) / 1000 }));
  });
}
