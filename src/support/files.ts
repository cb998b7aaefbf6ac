import fs from 'node:fs';
import path from 'node:path';

/**
 * Makes folder `dir` and any missing parents, like `fs.mkdirSync(dir, { recursive: true })`, which on
 * Node 20 never returns where a parent exists but cannot hold a new folder (a path under /proc, such
 * as HOME=/proc/…): mkdir there fails with ENOENT, Node makes the parent again (EEXIST) and retries the
 * child, forever, at full CPU. Here each missing folder is made once, from the nearest existing one
 * down, and the first failure is thrown (ENOENT for such a path, ENOTDIR when a file is in the way).
 * A folder another process makes meanwhile is fine. `mode` applies to the folders made.
 */
export function makeDirectory(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ;) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(d);
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (stat !== undefined) {
      if (!stat.isDirectory())
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${d}'`), {
          code: 'ENOTDIR',
          path: d,
        });
      break;
    }
    missing.push(d);
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d, mode === undefined ? undefined : { mode });
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(d).isDirectory()) throw error;
    }
  }
}
