import fs from 'node:fs';
import type { Command } from 'commander';
import { appendAudit, auditPathFor } from '../../privacy/audit.ts';
import { missingIngestedFiles } from '../../privacy/retention.ts';
import {
  createKeyFile,
  keyFileOf,
  KeyFileError,
  loadSsnKey,
  rotateKeyFile,
  type SsnKey,
} from '../../privacy/ssn-key.ts';
import { CliError, parseFormat } from '../errors.ts';
import { withReadableLakehouse } from '../lakehouse-access.ts';
import { addLakehouseOptions } from '../options.ts';

interface KeyOpts {
  db: string;
  landing: string;
  format: string;
  force?: boolean;
}

const print = (format: string, json: unknown, text: string): void => {
  process.stdout.write(format === 'json' ? JSON.stringify(json, null, 2) + '\n' : text);
};

function keyError(error: unknown): never {
  if (error instanceof KeyFileError) throw new CliError(error.message, 1, { cause: error });
  throw error;
}

async function storedKeyId(dbPath: string): Promise<string | null> {
  return withReadableLakehouse(dbPath, async (db) => {
    if (!db) return null;
    const row = await db
      .one<{ value: string }>(`SELECT value FROM carelake_meta WHERE key = 'ssn_key_id'`)
      .catch(() => undefined);
    return row?.value ?? null;
  });
}

const describe = (k: SsnKey): Record<string, unknown> => ({
  keyId: k.keyId,
  source: k.source,
  ...(k.path ? { path: k.path } : {}),
});

/** `carelake keys create|show|rotate`: the SSN HMAC key (its id only; the key itself is never printed). */
export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('The secret key that hashes SSNs (HMAC-SHA256): create, show its id, rotate.');

  addLakehouseOptions(keys.command('create').description('Create the key file (owner-only) if none exists.'))
    .option('--format <format>', 'text or json', 'text')
    .action((opts: KeyOpts) => {
      parseFormat(opts.format);
      let key: SsnKey;
      try {
        key = createKeyFile(process.env, { landingDir: opts.landing });
      } catch (error: unknown) {
        keyError(error);
      }
      appendAudit(auditPathFor(opts.db), { action: 'key_create', details: describe(key) });
      print(opts.format, describe(key), `Created SSN key ${key.keyId} at ${key.path ?? ''} (mode 0600).\n`);
    });

  addLakehouseOptions(
    keys.command('show').description('Show the key id in use and the key id that hashed the stored data.'),
  )
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: KeyOpts) => {
      parseFormat(opts.format);
      const file = keyFileOf();
      const fromEnv = Boolean(process.env['CARELAKE_SSN_KEY']);
      let key: SsnKey | undefined;
      if (fromEnv || fs.existsSync(file)) {
        try {
          key = loadSsnKey(process.env, { landingDir: opts.landing });
        } catch (error: unknown) {
          keyError(error);
        }
      }
      const stored = await storedKeyId(opts.db);
      const state =
        key === undefined
          ? 'no_key'
          : stored === null
            ? 'no_data'
            : stored === key.keyId
              ? 'matches'
              : 'differs';
      const json = { key: key ? describe(key) : null, keyFile: file, databaseKeyId: stored, state };
      const lines = [
        key
          ? `SSN key ${key.keyId} from ${key.source === 'env' ? 'CARELAKE_SSN_KEY' : key.path}`
          : `No SSN key yet: \`carelake keys create\` (or the first run) creates ${file}`,
        `Database ${opts.db}: ${stored === null ? 'no hashed data yet' : `hashed with key ${stored}`}`,
      ];
      if (state === 'differs')
        lines.push(
          'The keys differ: incremental runs are refused. Run `carelake run --full-refresh` to re-hash every SSN under the key in use.',
        );
      print(opts.format, json, lines.join('\n') + '\n');
    });

  addLakehouseOptions(
    keys
      .command('rotate')
      .description(
        'Replace the key file by a new random key (the old one is kept as <file>.previous); then run `carelake run --full-refresh`.',
      ),
  )
    .option(
      '--force',
      'rotate even when ingested landing files are missing (the refresh will be refused)',
      false,
    )
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: KeyOpts) => {
      parseFormat(opts.format);
      const missing = await withReadableLakehouse(opts.db, async (db) =>
        db ? missingIngestedFiles(db, opts.landing).catch(() => []) : [],
      );
      if (missing.length && !opts.force) {
        throw new CliError(
          `refusing to rotate: ${missing.length} ingested landing file(s) are not in ${opts.landing}, so the full refresh that re-hashes the data under the new key would be refused; restore them first (\`carelake landing restore\`) or pass --force`,
          1,
        );
      }
      let r;
      try {
        r = rotateKeyFile(process.env, { landingDir: opts.landing });
      } catch (error: unknown) {
        keyError(error);
      }
      appendAudit(auditPathFor(opts.db), {
        action: 'key_rotate',
        details: {
          from: r.previous.keyId,
          to: r.current.keyId,
          path: r.current.path,
          previousPath: r.previousPath,
        },
      });
      const steps = [
        `Rotated the SSN key: ${r.previous.keyId} → ${r.current.keyId} (${r.current.path ?? ''}).`,
        `The previous key is kept at ${r.previousPath} (mode 0600).`,
        'Next:',
        '  1. carelake run --full-refresh   rebuilds every table from the landing files, re-hashing each SSN under the new key,',
        '                                  and switches the database key id in the same transaction (incremental runs are refused until then)',
        `  2. delete ${r.previousPath} once the refresh has completed`,
      ];
      print(
        opts.format,
        { from: r.previous.keyId, to: r.current.keyId, path: r.current.path, previousPath: r.previousPath },
        steps.join('\n') + '\n',
      );
    });
}
