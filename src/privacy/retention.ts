import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseLandingFileName } from '../definitions/landing-files.ts';
import type { Database } from '../engine/database.ts';
import { appendAudit, auditPathFor, principal } from './audit.ts';
import { makeDirectory } from '../support/files.ts';

/**
 * Landing retention: landing files hold raw SSNs, so files recorded as ingested (and unchanged since)
 * can be moved to an archive folder or deleted once they are older than a retention period. Only
 * patients files carry SSNs; every landing file carries other PHI (names, dates, ids).
 */

/** Parses a duration such as 0s, 90m, 12h, 30d or 2w into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$/.exec(text);
  if (!m)
    throw new Error(`a duration is a number and a unit (s, m, h, d or w), like 30d or 12h; got "${text}"`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's'];
  return Number(m[1]) * unit;
}

/** The archive folder used when none is given: `landing-archive` next to the database. */
export const defaultArchiveDir = (dbPath: string): string =>
  path.join(path.dirname(path.resolve(dbPath)), 'landing-archive');

export interface LandingFileState {
  readonly fileName: string;
  readonly where: 'landing' | 'archive';
  readonly withSsn: boolean;
  readonly ingested: boolean;
  readonly ingestedAt: string | null;
}

export interface LandingStatus {
  readonly landingDir: string;
  readonly archiveDir: string;
  /** Landing files in the landing folder (raw PHI). */
  readonly rawFiles: number;
  /** Of those, patients files (raw SSNs). */
  readonly rawFilesWithSsn: number;
  readonly archived: number;
  readonly archivedWithSsn: number;
  /** Files in the landing folder not ingested yet. */
  readonly notIngested: number;
  /** Files recorded as ingested that are in neither the landing folder nor the archive. */
  readonly purged: number;
  readonly files: LandingFileState[];
}

type IngestedRow = { file_name: string; content_sha256: string; ingested_at: Date };

async function ingested(db: Database): Promise<Map<string, IngestedRow>> {
  const rows = await db.all<IngestedRow>(
    `SELECT file_name, content_sha256, ingested_at FROM ingest_files WHERE status = 'ingested'`,
  );
  return new Map(rows.map((r) => [r.file_name, r]));
}

function landingNames(dir: string): string[] {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && parseLandingFileName(e.name) !== undefined)
    .map((e) => e.name)
    .sort();
}

const withSsn = (name: string): boolean => parseLandingFileName(name)?.entity === 'patients';

export async function sha256OfFile(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 22 }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function landingStatus(
  db: Database,
  landingDir: string,
  archiveDir: string,
): Promise<LandingStatus> {
  const known = await ingested(db);
  const files: LandingFileState[] = [];
  for (const [where, dir] of [
    ['landing', landingDir],
    ['archive', archiveDir],
  ] as const) {
    for (const name of landingNames(dir)) {
      const k = known.get(name);
      files.push({
        fileName: name,
        where,
        withSsn: withSsn(name),
        ingested: k !== undefined,
        ingestedAt: k ? k.ingested_at.toISOString() : null,
      });
    }
  }
  const present = new Set(files.map((f) => f.fileName));
  const inLanding = files.filter((f) => f.where === 'landing');
  const inArchive = files.filter((f) => f.where === 'archive');
  return {
    landingDir: path.resolve(landingDir),
    archiveDir: path.resolve(archiveDir),
    rawFiles: inLanding.length,
    rawFilesWithSsn: inLanding.filter((f) => f.withSsn).length,
    archived: inArchive.length,
    archivedWithSsn: inArchive.filter((f) => f.withSsn).length,
    notIngested: inLanding.filter((f) => !f.ingested).length,
    purged: [...known.keys()].filter((n) => !present.has(n)).length,
    files,
  };
}

/** Ingested files missing from the landing folder (a full refresh would lose their rows). */
export async function missingIngestedFiles(
  db: Database,
  landingDir: string,
): Promise<{ fileName: string; archivedTo: string | null }[]> {
  const present = new Set(landingNames(landingDir));
  const rows = await db.all<{ file_name: string; location: string | null }>(
    `SELECT i.file_name, (SELECT r.location FROM landing_retention r WHERE r.file_name = i.file_name ORDER BY r.acted_at DESC, r.rowid DESC LIMIT 1) AS location
     FROM ingest_files i WHERE i.status = 'ingested' ORDER BY i.file_name`,
  );
  return rows
    .filter((r) => !present.has(r.file_name))
    .map((r) => ({ fileName: r.file_name, archivedTo: r.location }));
}

export interface RetentionAction {
  readonly fileName: string;
  readonly action: 'archived' | 'purged' | 'restored';
  readonly from: string;
  readonly to: string | null;
}

export interface RetentionResult {
  readonly acted: RetentionAction[];
  readonly kept: { readonly fileName: string; readonly reason: string }[];
}

/** Waits until what was written to a file is on disk. */
function syncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Waits until a folder's entries are on disk, where the platform can: some systems and file systems
 * cannot open or sync a folder (Windows, some network mounts), and the move must not fail for that.
 */
function syncFolder(dir: string): void {
  try {
    syncPath(dir);
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!['EISDIR', 'EPERM', 'EACCES', 'EINVAL', 'EBADF', 'ENOTSUP'].includes(code)) throw error;
  }
}

/**
 * Moves a landing file into the archive, keeping its times. Within one file system a rename; across
 * file systems (`rename` fails with EXDEV) a copy that is on disk before the original is deleted, so a
 * crash or power loss in between leaves the file in both places, never in neither. `rename` is the
 * file system's, replaceable in tests.
 */
export function moveFile(from: string, to: string, rename = fs.renameSync): void {
  makeDirectory(path.dirname(to), 0o700);
  if (fs.existsSync(to)) throw new Error(`${to} already exists; not overwritten`);
  const stat = fs.statSync(from);
  try {
    rename(from, to);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    fs.copyFileSync(from, to, fs.constants.COPYFILE_EXCL);
    fs.utimesSync(to, stat.atime, stat.mtime);
    syncPath(to);
    syncFolder(path.dirname(to));
    fs.unlinkSync(from);
    syncFolder(path.dirname(from));
    return;
  }
  fs.utimesSync(to, stat.atime, stat.mtime);
  syncFolder(path.dirname(to));
  syncFolder(path.dirname(from));
}

async function record(db: Database, a: RetentionAction, sha: string, who: string): Promise<void> {
  await db.run(`INSERT INTO landing_retention VALUES (?, ?, ?, ?, now()::TIMESTAMP, ?)`, [
    a.fileName,
    sha,
    a.action,
    a.to,
    who,
  ]);
}

export interface RetentionOptions {
  readonly landingDir: string;
  readonly archiveDir: string;
  /** Only files ingested at least this long ago are acted on. */
  readonly olderThanMs: number;
  /** archive: move to the archive folder; purge: delete (from the landing folder and the archive). */
  readonly action: 'archive' | 'purge';
  readonly who: string;
  readonly now?: Date;
}

/**
 * Archives or deletes landing files recorded as ingested, older than the retention period and
 * unchanged since ingestion (same SHA-256); every other file is kept, with the reason.
 */
export async function applyRetention(db: Database, o: RetentionOptions): Promise<RetentionResult> {
  if (path.resolve(o.archiveDir) === path.resolve(o.landingDir))
    throw new Error('the archive folder must not be the landing folder');
  const known = await ingested(db);
  const now = (o.now ?? new Date()).getTime();
  const acted: RetentionAction[] = [];
  const kept: { fileName: string; reason: string }[] = [];
  const places = [o.landingDir];
  if (o.action === 'purge') places.push(o.archiveDir);
  for (const dir of places) {
    for (const name of landingNames(dir)) {
      const k = known.get(name);
      if (!k) {
        kept.push({ fileName: name, reason: 'not ingested' });
        continue;
      }
      if (now - k.ingested_at.getTime() < o.olderThanMs) {
        kept.push({ fileName: name, reason: 'within the retention period' });
        continue;
      }
      const from = path.resolve(dir, name);
      const sha = await sha256OfFile(from);
      if (sha !== k.content_sha256) {
        kept.push({ fileName: name, reason: 'changed since ingestion' });
        continue;
      }
      let a: RetentionAction;
      if (o.action === 'archive') {
        const to = path.resolve(o.archiveDir, name);
        moveFile(from, to);
        a = { fileName: name, action: 'archived', from, to };
      } else {
        fs.unlinkSync(from);
        a = { fileName: name, action: 'purged', from, to: null };
      }
      await record(db, a, sha, o.who);
      acted.push(a);
    }
  }
  return { acted, kept };
}

/** Moves archived files (all, or those named) back into the landing folder, checking their content. */
export async function restoreArchived(
  db: Database,
  o: { landingDir: string; archiveDir: string; files?: readonly string[]; who: string },
): Promise<RetentionResult> {
  const known = await ingested(db);
  const acted: RetentionAction[] = [];
  const kept: { fileName: string; reason: string }[] = [];
  const wanted = o.files ? new Set(o.files) : undefined;
  for (const name of landingNames(o.archiveDir)) {
    if (wanted && !wanted.has(name)) continue;
    const from = path.resolve(o.archiveDir, name);
    const to = path.resolve(o.landingDir, name);
    const sha = await sha256OfFile(from);
    const k = known.get(name);
    if (k && sha !== k.content_sha256) {
      kept.push({ fileName: name, reason: 'content differs from the ingested file' });
      continue;
    }
    if (fs.existsSync(to)) {
      kept.push({ fileName: name, reason: 'a file of that name is in the landing folder' });
      continue;
    }
    moveFile(from, to);
    const a: RetentionAction = { fileName: name, action: 'restored', from, to };
    await record(db, a, sha, o.who);
    acted.push(a);
  }
  for (const name of wanted ?? []) {
    if (!acted.some((a) => a.fileName === name) && !kept.some((k) => k.fileName === name))
      kept.push({ fileName: name, reason: 'not in the archive' });
  }
  return { acted, kept };
}

/** `run --retain-landing`: what to do with ingested landing files after each completed update. */
export interface RetentionPolicy {
  readonly olderThanMs: number;
  readonly action: 'archive' | 'purge';
  readonly archiveDir: string;
}

/** Raw landing files left after an update (they hold PHI; patients files hold raw SSNs). */
export interface LandingSummary {
  readonly rawFiles: number;
  readonly rawFilesWithSsn: number;
  readonly archived: number;
  readonly archivedWithSsn: number;
  /** Files archived or deleted by the retention policy in this update. */
  readonly retentionActions: number;
}

/**
 * After an update: applies the retention policy, if any (audited), and counts the raw landing files
 * that remain, for the run summary.
 */
export async function retainLanding(
  db: Database,
  o: {
    readonly dbPath: string;
    readonly landingDir: string;
    readonly runId: string;
    readonly env: NodeJS.ProcessEnv;
    readonly archiveDir?: string;
    readonly retain?: RetentionPolicy;
  },
): Promise<LandingSummary> {
  let retentionActions = 0;
  if (o.retain) {
    const r = await applyRetention(db, {
      landingDir: o.landingDir,
      archiveDir: o.retain.archiveDir,
      olderThanMs: o.retain.olderThanMs,
      action: o.retain.action,
      who: principal(o.env),
    });
    retentionActions = r.acted.length;
    if (r.acted.length && o.dbPath !== ':memory:') {
      appendAudit(
        auditPathFor(o.dbPath),
        {
          action: o.retain.action === 'archive' ? 'landing_archive' : 'landing_purge',
          rows: r.acted.length,
          details: { files: r.acted.map((a) => a.fileName), run_id: o.runId },
        },
        o.env,
      );
    }
  }
  const st = await landingStatus(
    db,
    o.landingDir,
    o.retain?.archiveDir ?? o.archiveDir ?? defaultArchiveDir(o.dbPath),
  );
  return {
    rawFiles: st.rawFiles,
    rawFilesWithSsn: st.rawFilesWithSsn,
    archived: st.archived,
    archivedWithSsn: st.archivedWithSsn,
    retentionActions,
  };
}
