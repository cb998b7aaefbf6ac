import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The secret key for SSN hashing (DECISIONS.md D5). Taken, in order, from CARELAKE_SSN_KEY (64 hex
 * characters), from the file named by CARELAKE_SSN_KEY_FILE, or from the default key file
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

export function defaultKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CONFIG_HOME'] ?? path.join(os.homedir(), '.config');
  return path.join(base, 'carelake', 'ssn-hmac.key');
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

export function loadSsnKey(env: NodeJS.ProcessEnv = process.env): SsnKey {
  const fromEnv = env['CARELAKE_SSN_KEY'];
  if (fromEnv) {
    const key = parseKey(fromEnv, 'CARELAKE_SSN_KEY');
    return { keyId: keyIdOf(key), key, source: 'env', created: false };
  }
  const file = env['CARELAKE_SSN_KEY_FILE'] ?? defaultKeyFile(env);
  if (fs.existsSync(file)) {
    const key = parseKey(fs.readFileSync(file, 'utf8'), file);
    return { keyId: keyIdOf(key), key, source: 'file', path: file, created: false };
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = crypto.randomBytes(32);
  fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return { keyId: keyIdOf(key), key, source: 'file', path: file, created: true };
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

/** Digits of an SSN, or undefined when it is not 9 digits. */
export function normaliseSsn(raw: string): string | undefined {
  const digits = raw.replace(/[^0-9]/g, '');
  return digits.length === 9 ? digits : undefined;
}

/** HMAC-SHA256 (hex) of a normalised SSN: identical to the SQL the pipeline runs. */
export function hashSsn(key: Buffer, raw: string): string | undefined {
  const digits = normaliseSsn(raw);
  return digits === undefined ? undefined : crypto.createHmac('sha256', key).update(digits).digest('hex');
}
