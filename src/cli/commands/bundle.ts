import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { renderBundle, type RenderedBundle } from '../../renderer/index.ts';
import { CliError, parseFormat } from '../errors.ts';
import { openLakehouseReadOnly } from '../lakehouse-access.ts';
import { readTrainedModel } from '../../identity/model.ts';
import { deterministicIdentityStep, type IdentityStep } from '../../definitions/identity-step.ts';
import { fsIdentityStep, type IdentityModelData } from '../../definitions/identity/step.ts';
import { IDENTITY_MODEL_NAME } from '../../definitions/identity/comparisons.ts';
import { makeDirectory } from '../../support/files.ts';

/** The identity step to render: fs-v1 (with the lakehouse's trained model, if any) or deterministic-v1. */
export async function identityStepFor(opts: {
  identity?: string;
  db?: string;
}): Promise<{ step: IdentityStep; modelVersion: string | null }> {
  const which = opts.identity ?? IDENTITY_MODEL_NAME;
  if (which === deterministicIdentityStep.version) {
    if (opts.db) throw new CliError('--db reads an fs-v1 model; it does not apply to deterministic-v1', 2);
    return { step: deterministicIdentityStep, modelVersion: null };
  }
  if (which !== IDENTITY_MODEL_NAME)
    throw new CliError(
      `unknown identity step ${which} (use ${IDENTITY_MODEL_NAME} or ${deterministicIdentityStep.version})`,
      2,
    );
  let model: IdentityModelData | undefined;
  if (opts.db) {
    if (!fs.existsSync(opts.db)) throw new CliError(`no lakehouse at ${opts.db}`, 2);
    const db = await openLakehouseReadOnly(opts.db);
    try {
      model = await readTrainedModel(db, IDENTITY_MODEL_NAME);
    } finally {
      db.close();
    }
  }
  return { step: fsIdentityStep(model), modelVersion: model?.version ?? null };
}

/**
 * Writes a rendered bundle into `dir`. Files the renderer owns are replaced; anything else in the
 * folder is left alone. Refuses a path that exists and is not a folder.
 */
export function writeBundle(dir: string, bundle: RenderedBundle): number {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory())
    throw new CliError(`${dir} exists and is not a folder`, 2);
  let bytes = 0;
  for (const f of bundle.files) {
    const target = path.join(dir, ...f.path.split('/'));
    makeDirectory(path.dirname(target));
    fs.writeFileSync(target, f.content);
    bytes += Buffer.byteLength(f.content);
  }
  return bytes;
}

export function registerBundle(program: Command): void {
  program
    .command('bundle')
    .description(
      'Render the pipeline as a Databricks Asset Bundle (databricks.yml, resources/*.yml, pipeline SQL).',
    )
    .requiredOption('--out <dir>', 'folder to write the bundle into')
    .option(
      '--identity <step>',
      `identity step: ${IDENTITY_MODEL_NAME} (default, the engine's) or deterministic-v1`,
    )
    .option(
      '--db <file>',
      'lakehouse whose trained identity model (parameters, term frequencies) the bundle uses; default: the default model',
    )
    .option('--format <format>', 'text or json', 'text')
    .addHelpText(
      'after',
      '\nThen: cd <dir> && databricks bundle validate && databricks bundle deploy -t dev (see the README).\n',
    )
    .action(async (opts: { out: string; format: string; identity?: string; db?: string }) => {
      const format = parseFormat(opts.format);
      const { step, modelVersion } = await identityStepFor(opts);
      const started = process.hrtime.bigint();
      const bundle = renderBundle({ identity: step });
      const renderMs = Number(process.hrtime.bigint() - started) / 1e6;
      const bytes = writeBundle(opts.out, bundle);
      if (format === 'json') {
        process.stdout.write(
          JSON.stringify(
            {
              out: path.resolve(opts.out),
              files: bundle.files.map((f) => f.path),
              libraries: bundle.libraries,
              identity: step.version,
              modelVersion,
              bytes,
              renderMs: Math.round(renderMs * 10) / 10,
            },
            null,
            2,
          ) + '\n',
        );
      } else {
        for (const f of bundle.files) process.stdout.write(`  ${f.path}\n`);
        process.stdout.write(
          `Rendered ${bundle.files.length} files (${bundle.libraries.length} pipeline SQL files) into ${opts.out} in ${renderMs.toFixed(1)} ms; identity ${step.version}${modelVersion ? ` (model ${modelVersion})` : ''}\n`,
        );
      }
    });
}
