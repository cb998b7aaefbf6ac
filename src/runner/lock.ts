import fs from 'node:fs';
import { processAlive } from '../privacy/audit.ts';

/** Another update holds the database. */
export class PipelineLockedError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holderPid: number,
  ) {
    super(
      `another carelake run (pid ${holderPid}) is updating this database; wait for it to finish (lock file ${lockPath})`,
    );
    this.name = 'PipelineLockedError';
  }
}

/** The pid of the live process holding the update lock `lockPath`, if one does. */
export function lockHolder(lockPath: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(lockPath, 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
}

/**
 * Takes the update lock `<db>.lock` (created exclusively, holding the owner's pid). A lock whose owner is
 * no longer alive (a killed run) is taken over. Returns the release function.
 */
export function acquireLock(lockPath: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (fs.readFileSync(lockPath, 'utf8') === String(process.pid)) fs.unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(lockPath);
      if (holder !== undefined) throw new PipelineLockedError(lockPath, holder);
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new PipelineLockedError(lockPath, -1);
}
