/**
 * The update lock `<db>.lock`: while a live process holds it, a second run fails with
 * PipelineLockedError naming the holder (CLI: exit code 1, the message on stderr), not with a DuckDB
 * lock error; once the holder is gone the lock is taken over.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerPipelineCommands } from '../../src/cli/commands/pipeline.ts';
import { CliError } from '../../src/cli/errors.ts';
import { cli } from './cli-helper.ts';
import { PipelineLockedError } from '../../src/runner/lock.ts';
import { SSN_KEY_HEX, T0, makeLakehouse, range, run, writeValidBatch, type Lakehouse } from './fixtures.ts';

const WORKER = fileURLToPath(new URL('./kill-worker.ts', import.meta.url));
const lakes: Lakehouse[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  lakes.forEach((l) => l.cleanup());
});

/** A live child process that holds `<db>.lock` (its pid written in it) until killed. */
function holdLock(lockPath: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, 'hold', lockPath], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('started')) resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
}

test('a second run while the lock is held fails with PipelineLockedError naming the holder', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
  const holder = await holdLock(`${lake.db}.lock`);
  await assert.rejects(run(lake), (error: unknown) => {
    assert.ok(error instanceof PipelineLockedError, String(error));
    assert.equal(error.holderPid, holder.pid);
    assert.match(error.message, new RegExp(`pid ${holder.pid}\\b`));
    assert.doesNotMatch(error.message, /IO Error|Conflicting lock|Could not set lock/i);
    return true;
  });
  assert.ok(!fs.existsSync(lake.db), 'the locked-out run did not touch the database');
  assert.equal(fs.readFileSync(`${lake.db}.lock`, 'utf8'), String(holder.pid), 'the holder keeps its lock');

  // CLI: exit code 1 and the message on stderr names the other pid.
  const program = new Command('carelake').exitOverride();
  registerPipelineCommands(program);
  const prevKey = process.env['CARELAKE_SSN_KEY'];
  process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
  try {
    await assert.rejects(
      program.parseAsync(['run', '--db', lake.db, '--landing', lake.landing, '--format', 'json'], {
        from: 'user',
      }),
      (error: unknown) => {
        assert.ok(error instanceof CliError, String(error));
        assert.equal(error.exitCode, 1);
        assert.match(error.message, new RegExp(`another carelake run \\(pid ${holder.pid}\\)`));
        return true;
      },
    );
  } finally {
    if (prevKey === undefined) delete process.env['CARELAKE_SSN_KEY'];
    else process.env['CARELAKE_SSN_KEY'] = prevKey;
  }

  // Once the holder is dead, the stale lock is taken over.
  const exited = new Promise((r) => holder.once('exit', r));
  holder.kill('SIGKILL');
  await exited;
  const r = await run(lake);
  assert.equal(r.status, 'COMPLETED', r.error);
  assert.ok(!fs.existsSync(`${lake.db}.lock`));
});

test('a lock held by a live run in progress: a concurrent run is refused, not a DuckDB error', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  writeValidBatch(lake.landing, T0, { patients: range(1, 1500), claimsPerPatient: 3 });
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, 'run', lake.db, lake.landing], {
    env: { ...process.env, CARELAKE_SSN_KEY: SSN_KEY_HEX },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const done = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('progress bronze')) resolve();
    });
  });
  // A reader is told that a run holds the lakehouse, and which, not the engine's lock error.
  const status = await cli(['status', '--db', lake.db]);
  assert.equal(status.code, 1);
  assert.match(
    status.err,
    new RegExp(
      `the lakehouse .* is being updated by a carelake run \\(pid ${child.pid}\\); .* try again when it finishes`,
    ),
  );
  await assert.rejects(run(lake), (error: unknown) => {
    assert.ok(error instanceof PipelineLockedError, `expected PipelineLockedError, got ${String(error)}`);
    assert.equal(error.holderPid, child.pid);
    return true;
  });
  assert.equal(await done, 0, 'the first run completes undisturbed');
});

test('the CLI prints the lock message on stderr with exit code 1 (main)', async () => {
  const lake = makeLakehouse();
  lakes.push(lake);
  const holder = await holdLock(`${lake.db}.lock`);
  const { main } = await import('../../src/cli/main.ts');
  let err = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(['run', '--db', lake.db, '--landing', lake.landing]);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(code, 1);
  assert.match(err, new RegExp(`pid ${holder.pid}\\b`));
  holder.kill('SIGKILL');
});
