/**
 * `mkdir -p` that fails instead of spinning. Node's mkdirSync({recursive})
 * loops for ever, synchronously, where mkdir answers ENOENT although the
 * parent exists (/proc/x/...): 100% CPU, and signal handlers never run. Here
 * each missing component is created once, from the deepest existing
 * ancestor down, and any error is thrown.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function makeDirs(path: string): void {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      if (statSync(p).isDirectory()) break;
      const err = new Error(`ENOTDIR: not a directory, mkdir '${p}'`) as NodeJS.ErrnoException;
      err.code = 'ENOTDIR';
      throw err;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    missing.push(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      // Created meanwhile by someone else is as good as created by us.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
