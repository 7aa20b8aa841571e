/**
 * Run a command to completion and measure it from the outside, the way the
 * OS charges it: wall, CPU user + sys and peak RSS of the whole process
 * (start-up included), through GNU time (wait4's rusage: the peak of the
 * process and of any child it waited for). Without /usr/bin/time, peak RSS
 * is VmHWM polled from /proc every 20 ms and CPU is not available.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface Timed {
  wallS: number;
  cpuS: number | null;
  userS: number | null;
  sysS: number | null;
  peakRssMB: number;
  exitCode: number | null;
  signal: string | null;
  /** The end of stderr, for a failure's message. */
  stderrTail: string;
  /**
   * RSS of the measured process (and its children) sampled every 50 ms from
   * /proc, thinned to at most 30 points: where in the run the peak falls.
   */
  rssSamplesMB: number[];
  /** Seconds into the run of the highest RSS sample. */
  rssPeakAtS: number;
  /** Median and 90th percentile of the RSS samples: steadier than the peak on a noisy machine, to compare settings. */
  rssP50MB: number;
  rssP90MB: number;
}

/** The pids below `pid` (children, grandchildren), from /proc/<pid>/task/<tid>/children. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      const kids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      out.push(...kids);
      stack.push(...kids);
    } catch {
      /* gone */
    }
  }
  return out;
}

function quantileMB(kb: number[], q: number): number {
  if (kb.length === 0) return 0;
  const sorted = [...kb].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! / 1024, 0);
}

function rssKB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const GNU_TIME = '/usr/bin/time';
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

export async function runTimed(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd: string; scratch: string; echo?: boolean; onStderrLine?: (line: string, atS: number) => void },
): Promise<Timed> {
  const useTime = existsSync(GNU_TIME);
  const timeFile = join(opts.scratch, `time-${process.pid}-${Date.now()}.txt`);
  const [file, argv] = useTime ? [GNU_TIME, ['-o', timeFile, '-f', '%e %U %S %M', cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer) => {
    if (opts.echo) process.stderr.write(d);
    tail = (tail + d.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  if (opts.onStderrLine) {
    let partial = '';
    child.stderr.on('data', (d: Buffer) => {
      const atS = (performance.now() - t0) / 1e3;
      const lines = (partial + d.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const l of lines) opts.onStderrLine!(l, atS);
    });
  }
  let hwmKB = 0;
  const samples: number[] = [];
  let peakAt = 0;
  let peakKB = 0;
  const poll = setInterval(() => {
    // Under GNU time the measured processes are its descendants; time itself is not counted.
    const pids = useTime ? descendants(child.pid!) : [child.pid!, ...descendants(child.pid!)];
    let kb = 0;
    for (const p of pids) kb += rssKB(p);
    if (kb === 0) return;
    samples.push(kb);
    if (kb > peakKB) {
      peakKB = kb;
      peakAt = performance.now() - t0;
    }
    if (!useTime) {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwmKB = Math.max(hwmKB, Number(m[1]));
      } catch {
        /* exited */
      }
    }
  }, 50);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  });
  clearInterval(poll);
  const wallS = round((performance.now() - t0) / 1e3, 3);
  const step = Math.max(1, Math.ceil(samples.length / 30));
  const timeline = {
    rssSamplesMB: samples.filter((_, i) => i % step === 0 || i === samples.length - 1).map((kb) => round(kb / 1024, 0)),
    rssPeakAtS: round(peakAt / 1e3, 1),
    rssP50MB: quantileMB(samples, 0.5),
    rssP90MB: quantileMB(samples, 0.9),
  };
  if (!useTime) {
    return { wallS, cpuS: null, userS: null, sysS: null, peakRssMB: round(hwmKB / 1024, 1), exitCode: code, signal, stderrTail: tail, ...timeline };
  }
  const text = readFileSync(timeFile, 'utf8');
  rmSync(timeFile, { force: true });
  // GNU time writes "Command exited with non-zero status N" / "Command terminated by signal N" before the figures.
  const figures = text.trim().split('\n').pop()!.split(' ').map(Number);
  const [, user, sys, maxKB] = figures as [number, number, number, number];
  const exit = /exited with non-zero status (\d+)/.exec(text);
  const sig = /terminated by signal (\d+)/.exec(text);
  return {
    wallS,
    cpuS: round(user + sys),
    userS: user,
    sysS: sys,
    peakRssMB: round(maxKB / 1024, 1),
    exitCode: sig ? null : exit ? Number(exit[1]) : code,
    signal: sig ? `signal ${sig[1]}` : signal,
    stderrTail: tail,
    ...timeline,
  };
}
