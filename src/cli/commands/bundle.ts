import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { renderBundle, type RenderedBundle } from '../../renderer/index.ts';
import { CliError, parseFormat } from '../errors.ts';

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
    fs.mkdirSync(path.dirname(target), { recursive: true });
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
    .option('--format <format>', 'text or json', 'text')
    .addHelpText(
      'after',
      '\nThen: cd <dir> && databricks bundle validate && databricks bundle deploy -t dev (see the README).\n',
    )
    .action((opts: { out: string; format: string }) => {
      const format = parseFormat(opts.format);
      const started = process.hrtime.bigint();
      const bundle = renderBundle();
      const renderMs = Number(process.hrtime.bigint() - started) / 1e6;
      const bytes = writeBundle(opts.out, bundle);
      if (format === 'json') {
        process.stdout.write(
          JSON.stringify(
            {
              out: path.resolve(opts.out),
              files: bundle.files.map((f) => f.path),
              libraries: bundle.libraries,
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
          `Rendered ${bundle.files.length} files (${bundle.libraries.length} pipeline SQL files) into ${opts.out} in ${renderMs.toFixed(1)} ms\n`,
        );
      }
    });
}
