/**
 * What a child measures about itself: CPU and wall of the measured section
 * only (not the tsx loader start-up), and the process's lifetime peak RSS
 * (which does include start-up: that is what the OS would charge).
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface Measured {
  wallS: number;
  cpuS: number;
  userS: number;
  sysS: number;
  peakRssMB: number;
  /** CPU of the whole process, start-up included. */
  processCpuS: number;
  /** RSS sampled every 100 ms over the measured section, thinned to at most 20 points. */
  rssSamplesMB: number[];
  /** The largest of each part of process.memoryUsage() seen by the sampler: where the RSS goes. */
  maxMemoryMB: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
}

const mb = (bytes: number) => Math.round((bytes / (1024 * 1024)) * 10) / 10;
const s = (micros: number) => Math.round(micros / 1e3) / 1e3;

export function startMeasure(): () => Measured {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const samples: number[] = [];
  const max = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    samples.push(m.rss);
    for (const k of Object.keys(max) as (keyof typeof max)[]) if (m[k] > max[k]) max[k] = m[k];
  };
  const sampler = setInterval(sample, 100);
  sampler.unref();
  return () => {
    clearInterval(sampler);
    sample();
    const cpu = process.cpuUsage(cpu0);
    const total = process.cpuUsage();
    const step = Math.max(1, Math.ceil(samples.length / 20));
    return {
      wallS: Math.round(performance.now() - t0) / 1e3,
      cpuS: s(cpu.user + cpu.system),
      userS: s(cpu.user),
      sysS: s(cpu.system),
      // resourceUsage().maxRSS is in kilobytes (getrusage ru_maxrss).
      peakRssMB: mb(process.resourceUsage().maxRSS * 1024),
      processCpuS: s(total.user + total.system),
      rssSamplesMB: samples.filter((_, i) => i % step === 0 || i === samples.length - 1).map(mb),
      maxMemoryMB: {
        rss: mb(max.rss),
        heapTotal: mb(max.heapTotal),
        heapUsed: mb(max.heapUsed),
        external: mb(max.external),
        arrayBuffers: mb(max.arrayBuffers),
      },
    };
  };
}

/** A child hands its result to the parent as JSON in the file named by its first argument. */
export function report(result: unknown): void {
  const out = process.argv[2];
  if (!out) throw new Error('usage: <child> RESULT_JSON_PATH ...');
  writeFileSync(out, JSON.stringify(result));
}
