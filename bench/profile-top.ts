/**
 * The top costs in a V8 CPU profile (.cpuprofile, from `node --cpu-prof`) or
 * sampling heap profile (.heapprofile, from `node --heap-prof`), by
 * file:function, so a cost can be assigned to the code that pays it.
 *
 *   BENCH_SIZES=200MB BENCH_IMAGES=0 BENCH_CONTENDERS=cli \
 *     BENCH_CLI_NODE_FLAGS="--cpu-prof --cpu-prof-dir=bench/out/prof" npm run bench
 *   npx tsx bench/profile-top.ts bench/out/prof/*.cpuprofile [TOP]
 *
 * CPU: self time per function (where the samples land) and inclusive time
 * per function (self + what it calls, counted once per sample however deep
 * the recursion). Heap: bytes allocated (sampled, still live at the end
 * unless --heap-prof's interval sampling says otherwise) per allocating
 * function. Paths are shown relative to the project; node internals as node:...
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

const root = fileURLToPath(new URL('..', import.meta.url));

function where(f: CallFrame): string {
  let file = f.url;
  if (file.startsWith('file://')) file = relative(root, fileURLToPath(file)).replace(/^bench\/out\/(ref-[^/]+\/)?build\//, '');
  else if (file === '') file = '(native)';
  else if (!file.startsWith('node:')) file = `node:${file}`;
  return `${file}:${f.functionName || '(anonymous)'}${f.lineNumber >= 0 && f.url ? `:${f.lineNumber + 1}` : ''}`;
}

function table(rows: [string, number][], total: number, unit: (n: number) => string, top: number): string {
  return rows
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${unit(v).padStart(10)} ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
}

function cpu(p: CpuProfile, top: number): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id)!;
    const key = where(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = where(byId.get(cur)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  });
  const ms = (us: number) => `${(us / 1000).toFixed(0)} ms`;
  const skip = (k: string) => /\(root\)|\(program\)|\(idle\)/.test(k);
  // Self time by file: which part of the code (and so which owner) pays.
  const byFile = new Map<string, number>();
  for (const [k, v] of self) {
    const file = k.startsWith('(native)') ? k : /:\d+$/.test(k) ? k.replace(/:[^:]*:\d+$/, '') : k.replace(/:[^:]*$/, '');
    byFile.set(file, (byFile.get(file) ?? 0) + v);
  }
  return [
    `CPU profile: ${ms(total)} sampled`,
    `-- self time by file, top ${top}`,
    table([...byFile.entries()], total, ms, top),
    `-- self time, top ${top}`,
    table([...self.entries()], total, ms, top),
    `-- inclusive time, top ${top} (excluding (root)/(program)/(idle))`,
    table([...incl.entries()].filter(([k]) => !skip(k)), total, ms, top),
  ].join('\n');
}

function heap(h: { head: HeapNode }, top: number): string {
  const self = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode) => {
    if (n.selfSize) {
      const k = where(n.callFrame);
      self.set(k, (self.get(k) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c);
  };
  walk(h.head);
  const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
  return [`Heap profile: ${mb(total)} sampled`, `-- allocated by, top ${top}`, table([...self.entries()], total, mb, top)].join('\n');
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-top.ts FILE.cpuprofile|FILE.heapprofile [TOP]');
const top = Number(topArg ?? 25);
const data = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile | { head: HeapNode };
process.stdout.write(('head' in data ? heap(data, top) : cpu(data, top)) + '\n');
