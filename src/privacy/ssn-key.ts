import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { usableSsnDigits } from '../definitions/ssn.ts';
import { makeDirectory } from '../support/files.ts';
import { errorMessage } from '../support/errors.ts';

/**
 * The secret key for SSN hashing (DECISIONS.md D5). Taken, in order, from CARELAKE_SSN_KEY (64 to 128
 * hex characters), from the file named by CARELAKE_SSN_KEY_FILE, or from the default key file
 * `~/.config/carelake/ssn-hmac.key`, which is created (owner-only, mode 0600) on first use. The key
 * never enters the repository, the landing folder or the database; only its id is stored.
 */
export interface SsnKey {
  readonly keyId: string;
  readonly key: Buffer;
  readonly source: 'env' | 'file';
  readonly path?: string;
  readonly created: boolean;
}

/** A key file that must not be used (inside a repository or the landing folder, or readable by others). */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

export interface KeyLocation {
  /** The landing folder: a key file inside it is refused. */
  readonly landingDir?: string;
}

export function defaultKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CONFIG_HOME'] ?? path.join(os.homedir(), '.config');
  return path.join(base, 'carelake', 'ssn-hmac.key');
}

/** The key file this environment uses (whether or not it exists yet). */
export function keyFileOf(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env['CARELAKE_SSN_KEY_FILE'] ?? defaultKeyFile(env));
}

export function keyIdOf(key: Buffer): string {
  return crypto.createHash('sha256').update(key).digest('hex').slice(0, 12);
}

function parseKey(text: string, where: string): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64,128}$/.test(hex) || hex.length % 2 !== 0) {
    throw new Error(`the SSN key in ${where} must be 32 to 64 bytes written as hex`);
  }
  return Buffer.from(hex, 'hex');
}

/** The git repository (its top folder) that contains `file`, if any. */
export function enclosingGitRepository(file: string): string | undefined {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const inside = (dir: string, file: string): boolean => {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** Refuses a key file location inside a git repository or the landing folder. */
export function checkKeyLocation(file: string, where: KeyLocation = {}): void {
  if (where.landingDir !== undefined && inside(where.landingDir, file)) {
    throw new KeyFileError(
      `refusing the SSN key file ${file}: it is inside the landing folder ${where.landingDir}; keep the key apart from the data it protects (set CARELAKE_SSN_KEY_FILE to a path outside it)`,
    );
  }
  const repo = enclosingGitRepository(file);
  if (repo !== undefined) {
    throw new KeyFileError(
      `refusing the SSN key file ${file}: it is inside the git repository ${repo}, from where it could be committed; set CARELAKE_SSN_KEY_FILE to a path outside any repository (the default is ~/.config/carelake/ssn-hmac.key)`,
    );
  }
}

/** Refuses a key file other users can read or write (POSIX permissions). */
function checkPermissions(file: string): void {
  if (process.platform === 'win32') return;
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new KeyFileError(
      `refusing the SSN key file ${file}: its permissions (${mode.toString(8).padStart(3, '0')}) let other users read or change it; run \`chmod 600 ${file}\``,
    );
  }
}

function writeNewKey(file: string): Buffer {
  try {
    makeDirectory(path.dirname(file), 0o700);
  } catch (error: unknown) {
    throw new KeyFileError(
      `cannot create the folder of the SSN key file ${file} (${errorMessage(error)}); set CARELAKE_SSN_KEY_FILE to a writable path (outside the landing folder and any git repository), or CARELAKE_SSN_KEY`,
    );
  }
  const key = crypto.randomBytes(32);
  fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}

export function loadSsnKey(env: NodeJS.ProcessEnv = process.env, where: KeyLocation = {}): SsnKey {
  const fromEnv = env['CARELAKE_SSN_KEY'];
  if (fromEnv) {
    const key = parseKey(fromEnv, 'CARELAKE_SSN_KEY');
    return { keyId: keyIdOf(key), key, source: 'env', created: false };
  }
  const file = keyFileOf(env);
  checkKeyLocation(file, where);
  if (fs.existsSync(file)) {
    checkPermissions(file);
    const key = parseKey(fs.readFileSync(file, 'utf8'), file);
    return { keyId: keyIdOf(key), key, source: 'file', path: file, created: false };
  }
  const key = writeNewKey(file);
  return { keyId: keyIdOf(key), key, source: 'file', path: file, created: true };
}

/** Creates the key file (refusing when one exists or the environment supplies the key). */
export function createKeyFile(env: NodeJS.ProcessEnv = process.env, where: KeyLocation = {}): SsnKey {
  if (env['CARELAKE_SSN_KEY']) {
    throw new KeyFileError(
      'the SSN key comes from CARELAKE_SSN_KEY, so no key file is used; unset it to use a key file',
    );
  }
  const file = keyFileOf(env);
  checkKeyLocation(file, where);
  if (fs.existsSync(file)) {
    throw new KeyFileError(
      `an SSN key file already exists at ${file} (id ${loadSsnKey(env, where).keyId}); use \`carelake keys rotate\` to replace it`,
    );
  }
  const key = writeNewKey(file);
  return { keyId: keyIdOf(key), key, source: 'file', path: file, created: true };
}

export interface Rotation {
  readonly previous: SsnKey;
  readonly current: SsnKey;
  /** Where the previous key was kept (owner-only), to go back if the refresh cannot be done. */
  readonly previousPath: string;
}

/**
 * Replaces the key file with a new random key. The previous key is kept next to it as
 * `<file>.previous` (owner-only) until the database has been re-hashed by a full refresh.
 */
export function rotateKeyFile(env: NodeJS.ProcessEnv = process.env, where: KeyLocation = {}): Rotation {
  if (env['CARELAKE_SSN_KEY']) {
    throw new KeyFileError(
      'the SSN key comes from CARELAKE_SSN_KEY: rotate it where it is kept (set a new value of 64 hex characters, e.g. from `openssl rand -hex 32`), then run `carelake run --full-refresh`',
    );
  }
  const previous = loadSsnKey(env, where);
  const file = previous.path ?? keyFileOf(env);
  const previousPath = `${file}.previous`;
  const fresh = `${file}.new`;
  fs.rmSync(fresh, { force: true });
  const key = writeNewKey(fresh);
  fs.copyFileSync(file, previousPath);
  fs.chmodSync(previousPath, 0o600);
  fs.renameSync(fresh, file);
  return {
    previous,
    current: { keyId: keyIdOf(key), key, source: 'file', path: file, created: true },
    previousPath,
  };
}

/** The HMAC inner and outer padded key blocks as hex, for computing HMAC-SHA256 in SQL. */
export function hmacPads(key: Buffer): { ipadHex: string; opadHex: string } {
  const block = Buffer.alloc(64);
  (key.length > 64 ? crypto.createHash('sha256').update(key).digest() : key).copy(block);
  return {
    ipadHex: Buffer.from(block.map((b) => b ^ 0x36)).toString('hex'),
    opadHex: Buffer.from(block.map((b) => b ^ 0x5c)).toString('hex'),
  };
}

/** Digits of an SSN-shaped value, or undefined when it has not 9 digits (whether usable or not). */
export function normaliseSsn(raw: string): string | undefined {
  const digits = raw.replace(/[^0-9]/g, '');
  return digits.length === 9 ? digits : undefined;
}

/**
 * HMAC-SHA256 (hex) of an SSN's digits, identical to the SQL the pipeline runs: undefined when they are
 * not a usable SSN (nine digits, not a placeholder or a number never issued; `src/definitions/ssn.ts`).
 */
export function hashSsn(key: Buffer, raw: string): string | undefined {
  const digits = usableSsnDigits(raw);
  return digits === undefined ? undefined : crypto.createHmac('sha256', key).update(digits).digest('hex');
}
