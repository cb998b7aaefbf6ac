import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { redactDeep, redactSsnText } from './redact.ts';
import { makeDirectory } from '../support/files.ts';
import { errorMessage } from '../support/errors.ts';

/**
 * The audit trail (HIPAA 164.312(b)): an append-only JSON Lines file next to the database,
 * `<db>.audit.jsonl`, outside the database so that an update that rolls back is still recorded. Each
 * entry holds the SHA-256 of the previous entry (a hash chain), so a modified, deleted or reordered
 * entry is detected by `verifyAudit`; `<db>.audit.head` holds the newest entry's sequence number and
 * hash, so removing the newest entries is detected too. Copy `carelake audit head` somewhere else to
 * anchor the chain against someone who rewrites both files.
 */
export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly who: string;
  readonly action: string;
  readonly status: string;
  readonly rows: number | null;
  readonly details: Record<string, unknown>;
  readonly prev: string;
  readonly hash: string;
}

export interface AuditInput {
  /** What happened: pipeline_update, full_refresh, export, key_create, key_rotate, landing_archive, … */
  readonly action: string;
  /** ok, COMPLETED, FAILED, REFUSED, … */
  readonly status?: string;
  /** How many rows the action wrote or read, when that applies. */
  readonly rows?: number | null;
  readonly details?: Record<string, unknown>;
}

export const GENESIS = '0'.repeat(64);
const HASH_TAIL = /,"hash":"([0-9a-f]{64})"\}$/;
const MAX_TEXT = 4000;

export const auditPathFor = (dbPath: string): string => `${path.resolve(dbPath)}.audit.jsonl`;
const headPathOf = (file: string): string => file.replace(/\.jsonl$/, '') + '.head';

/** Who acts: CARELAKE_PRINCIPAL (an API or service principal) or the OS user. */
export function principal(env: NodeJS.ProcessEnv = process.env): string {
  const p = env['CARELAKE_PRINCIPAL']?.trim();
  if (p) return p;
  try {
    return os.userInfo().username;
  } catch {
    return env['USER'] ?? 'unknown';
  }
}

const sha256 = (data: string | Buffer): string => crypto.createHash('sha256').update(data).digest('hex');

function clip(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_TEXT ? value.slice(0, MAX_TEXT) + '…' : value;
  if (Array.isArray(value)) return value.map(clip);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, clip(v)]));
  return value;
}

const sleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** Whether a process with this pid is running (one of another user counts as running). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<file>.lock` (waiting for another appender; a dead owner's lock is taken over). */
function lockAudit(file: string, timeoutMs = 30_000): () => void {
  const lock = `${file}.lock`;
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => fs.rmSync(lock, { force: true });
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let pid = 0;
      try {
        pid = Number(fs.readFileSync(lock, 'utf8').trim());
      } catch {
        continue; // released between the two calls
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > until) throw new Error(`the audit trail ${file} is locked by pid ${pid}`);
      sleep(5 + Math.floor(Math.random() * 20));
    }
  }
}

/** The last complete line of a file, read from its end. */
function lastLine(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const size = fs.fstatSync(fd).size;
    for (let span = 4096; ; span *= 4) {
      const len = Math.min(size, span);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      const text = buf.toString('utf8').replace(/\n+$/, '');
      const nl = text.lastIndexOf('\n');
      if (nl >= 0 || len === size) return text.slice(nl + 1) || undefined;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function parseLine(line: string): { entry: AuditEntry; body: string } | undefined {
  const m = HASH_TAIL.exec(line);
  if (!m) return undefined;
  const body = line.slice(0, m.index) + '}';
  try {
    const parsed = JSON.parse(body) as Omit<AuditEntry, 'hash'>;
    return { entry: { ...parsed, hash: m[1] ?? '' }, body };
  } catch {
    return undefined;
  }
}

/** The head file's newest entry (sequence number and hash); undefined when missing or unreadable. */
function readHead(file: string): { seq: number; hash: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(headPathOf(file), 'utf8')) as { seq: number; hash: string };
  } catch {
    return undefined;
  }
}

/** Whether the last of the `size` bytes of `file` is a line break (the last entry is whole). */
function endsWithLineBreak(file: string, size: number): boolean {
  const fd = fs.openSync(file, 'r');
  const last = Buffer.alloc(1);
  try {
    return fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 10;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A crash while an entry was being written can leave the trail ending in part of a line. That part is
 * set aside (to `<file>.torn-<time>`, kept for inspection) and truncated away when it is only that: the
 * last line, without a line ending, not a whole entry, and the head file still names the entry before
 * it (the head is written after the line). Any other damage stays for `carelake audit verify` to
 * report, and no entry is appended after it. An entry complete but for its line ending gets one.
 */
function settleTail(file: string): { bytes: number; sha256: string; savedAs: string } | undefined {
  const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  if (size === 0 || endsWithLineBreak(file, size)) return undefined;
  const text = fs.readFileSync(file);
  const start = text.lastIndexOf(10) + 1;
  const tail = text.subarray(start);
  if (parseLine(tail.toString('utf8'))) {
    fs.appendFileSync(file, '\n');
    return undefined;
  }
  const before = start > 0 ? text.subarray(0, start - 1).toString('utf8') : '';
  const lastComplete = before.slice(before.lastIndexOf('\n') + 1);
  const prior = lastComplete ? parseLine(lastComplete)?.entry : undefined;
  if (lastComplete && !prior) return undefined;
  const head = readHead(file);
  const headIsPrior = prior ? head?.seq === prior.seq && head.hash === prior.hash : head === undefined;
  if (!headIsPrior) return undefined;
  const savedAs = `${file}.torn-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  fs.writeFileSync(savedAs, tail, { mode: 0o600 });
  fs.truncateSync(file, start);
  return { bytes: tail.length, sha256: sha256(tail), savedAs };
}

/** Appends one entry after `prior` (redacted, chained) and moves the head to it. */
function writeEntry(
  file: string,
  prior: AuditEntry | undefined,
  input: AuditInput,
  env: NodeJS.ProcessEnv,
): AuditEntry {
  const body = JSON.stringify({
    seq: (prior?.seq ?? 0) + 1,
    at: new Date().toISOString(),
    who: redactSsnText(principal(env)),
    action: redactSsnText(input.action),
    status: redactSsnText(input.status ?? 'ok'),
    rows: input.rows ?? null,
    details: redactDeep(clip(input.details ?? {})),
    prev: prior?.hash ?? GENESIS,
  });
  const hash = sha256(body);
  const line = `${body.slice(0, -1)},"hash":"${hash}"}\n`;
  fs.appendFileSync(file, line, { mode: 0o600 });
  const entry = parseLine(line.trimEnd())?.entry as AuditEntry;
  const head = headPathOf(file);
  fs.writeFileSync(`${head}.tmp`, JSON.stringify({ seq: entry.seq, hash }) + '\n', { mode: 0o600 });
  fs.renameSync(`${head}.tmp`, head);
  return entry;
}

/**
 * Appends one entry (redacted, chained, under the lock) and returns it. A part-written last line left
 * by a crash is set aside first, and that is recorded as an entry of its own (`settleTail`).
 */
export function appendAudit(
  file: string,
  input: AuditInput,
  env: NodeJS.ProcessEnv = process.env,
): AuditEntry {
  makeDirectory(path.dirname(file));
  const release = lockAudit(file);
  try {
    const torn = settleTail(file);
    const last = lastLine(file);
    let prior = last === undefined ? undefined : parseLine(last)?.entry;
    if (last !== undefined && prior === undefined)
      throw new Error(`the last entry of the audit trail ${file} is damaged; run \`carelake audit verify\``);
    if (torn)
      prior = writeEntry(
        file,
        prior,
        {
          action: 'audit_torn_line_set_aside',
          details: { bytes: torn.bytes, sha256: torn.sha256, saved_as: torn.savedAs },
        },
        env,
      );
    return writeEntry(file, prior, input, env);
  } finally {
    release();
  }
}

/**
 * Why no entry can be appended to the trail, checked before work that must be audited starts: it cannot
 * be opened for appending (a folder in its place, no permission), or its last complete line is not an
 * entry (edited or damaged; `carelake audit restart` sets it aside). Undefined when an entry can follow
 * (an empty or new trail, or a part-written last line, which appendAudit sets aside). Reads the end of
 * the file only. A write that fails later (a disk full meanwhile) is appendAudit's error.
 */
export function auditTrailDamage(file: string): string | undefined {
  try {
    fs.closeSync(fs.openSync(file, 'a', 0o600));
  } catch (error: unknown) {
    return `the audit trail ${file} cannot be written: ${errorMessage(error)}`;
  }
  const size = fs.statSync(file).size;
  if (size === 0 || !endsWithLineBreak(file, size)) return undefined;
  const last = lastLine(file);
  if (last === undefined || parseLine(last)) return undefined;
  return `the last entry of the audit trail ${file} is damaged, and no entry can follow it: run \`carelake audit verify\`, then \`carelake audit restart\` to set the damaged trail aside`;
}

/** Every entry of the trail (unverified; see verifyAudit). */
export function readAudit(file: string): AuditEntry[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .flatMap((l) => {
      const p = parseLine(l);
      return p ? [p.entry] : [];
    });
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  readonly head?: { readonly seq: number; readonly hash: string };
  readonly problems: string[];
}

/** Checks the chain: every entry's hash, sequence and link to its predecessor, and the head file. */
export function verifyAudit(file: string): AuditVerification {
  const problems: string[] = [];
  if (!fs.existsSync(file)) {
    const headExists = fs.existsSync(headPathOf(file));
    return {
      ok: !headExists,
      entries: 0,
      problems: headExists ? [`the audit trail ${file} is missing but its head file exists`] : [],
    };
  }
  const text = fs.readFileSync(file, 'utf8');
  if (text.length > 0 && !text.endsWith('\n')) problems.push('the last line is incomplete');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let prev = GENESIS;
  let seq = 0;
  let last: AuditEntry | undefined;
  lines.forEach((line, i) => {
    const n = i + 1;
    const parsed = parseLine(line);
    if (!parsed) {
      problems.push(`line ${n}: not an audit entry (damaged)`);
      prev = '';
      seq += 1;
      return;
    }
    const { entry, body } = parsed;
    if (sha256(body) !== entry.hash)
      problems.push(`line ${n} (seq ${entry.seq}): content does not match its hash (modified)`);
    if (entry.seq !== seq + 1)
      problems.push(
        `line ${n}: sequence ${entry.seq} follows ${seq} (entries deleted, inserted or reordered)`,
      );
    if (prev !== '' && entry.prev !== prev)
      problems.push(
        `line ${n} (seq ${entry.seq}): does not link to the entry before it (deleted, inserted or reordered)`,
      );
    prev = entry.hash;
    seq = entry.seq;
    last = entry;
  });
  const head = readHead(file);
  if (!head) problems.push(`the head file ${headPathOf(file)} is missing or unreadable`);
  if (head && (head.seq !== last?.seq || head.hash !== last.hash)) {
    problems.push(
      `the newest entry (seq ${last?.seq ?? 0}) is not the recorded head (seq ${head.seq}): entries at the end were deleted or replaced`,
    );
  }
  return { ok: problems.length === 0, entries: lines.length, ...(head ? { head } : {}), problems };
}

export interface AuditRestart {
  /** Where the damaged trail (and its head file, if any) now are. */
  readonly setAside: string[];
  readonly sha256: string;
  /** The new trail's first entry, which records the restart. */
  readonly entry: AuditEntry;
}

/**
 * Starts a new chain after damage that `verifyAudit` found (an edited, deleted or reordered entry):
 * the damaged trail and its head file are moved aside to `<name>.damaged-<time>` (kept as evidence),
 * and the new trail's first entry records them: the damaged file's SHA-256, its entry count, the
 * problems found and the head it had. Returns undefined, changing nothing, when the trail verifies.
 * The caller holds the update lock, so no update writes meanwhile.
 */
export function restartAudit(
  file: string,
  reason: string,
  env: NodeJS.ProcessEnv = process.env,
): AuditRestart | undefined {
  const release = lockAudit(file);
  try {
    const v = verifyAudit(file);
    if (v.ok) return undefined;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const content = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
    const setAside: string[] = [];
    for (const f of [file, headPathOf(file)])
      if (fs.existsSync(f)) {
        const to = `${f}.damaged-${stamp}`;
        fs.renameSync(f, to);
        setAside.push(to);
      }
    const digest = sha256(content);
    const entry = writeEntry(
      file,
      undefined,
      {
        action: 'audit_chain_restarted',
        details: {
          reason,
          damaged_trail: setAside,
          sha256: digest,
          entries: v.entries,
          problems: v.problems.slice(0, 50),
          ...(v.head ? { head: v.head } : {}),
        },
      },
      env,
    );
    return { setAside, sha256: digest, entry };
  } finally {
    release();
  }
}

/** The newest entry's sequence number and hash (copy it elsewhere to anchor the chain). */
export function auditHead(file: string): { seq: number; hash: string } {
  const last = lastLine(file);
  const entry = last === undefined ? undefined : parseLine(last)?.entry;
  return { seq: entry?.seq ?? 0, hash: entry?.hash ?? GENESIS };
}

/**
 * Records an identity review decision (accept or reject a suggested match) in the database's audit
 * trail: the identity review CLI calls this.
 */
export function recordIdentityDecision(
  dbPath: string,
  decision: {
    readonly decision: 'accept' | 'reject' | string;
    readonly pairId?: string;
    readonly patientIds?: readonly string[];
    readonly rows?: number;
    readonly note?: string;
  },
  env: NodeJS.ProcessEnv = process.env,
): AuditEntry {
  return appendAudit(
    auditPathFor(dbPath),
    {
      action: 'identity_review',
      status: decision.decision,
      rows: decision.rows ?? null,
      details: {
        ...(decision.pairId === undefined ? {} : { pair_id: decision.pairId }),
        ...(decision.patientIds === undefined ? {} : { patient_ids: [...decision.patientIds] }),
        ...(decision.note === undefined ? {} : { note: decision.note }),
      },
    },
    env,
  );
}
