import fs from 'node:fs';
import path from 'node:path';
import { CliError } from './errors.ts';
import { errorMessage } from '../support/errors.ts';

/**
 * A minimal client of the Databricks Files API for Unity Catalog volumes: `PUT
 * /api/2.0/fs/files{path}?overwrite=false` with the bytes as the body and a bearer token. A file
 * already in the volume answers 409 and is left as it is: a landing file is never overwritten, as
 * in the local landing folder.
 */
export interface FilesApiTarget {
  /** Workspace URL, e.g. https://adb-123.4.azuredatabricks.net (env DATABRICKS_HOST). */
  readonly host: string;
  /** Personal access or OAuth token (env DATABRICKS_TOKEN); never printed. */
  readonly token: string;
}

export type UploadOutcome = 'uploaded' | 'exists';

export interface UploadResult {
  readonly file: string;
  readonly volumePath: string;
  readonly outcome: UploadOutcome;
  readonly bytes: number;
}

const VOLUME_PATH = /^\/Volumes\/[^/]+\/[^/]+\/[^/]+(\/[^/]+)*\/?$/;

export function filesApiTarget(env: NodeJS.ProcessEnv, host?: string): FilesApiTarget {
  const h = host ?? env['DATABRICKS_HOST'];
  const token = env['DATABRICKS_TOKEN'];
  if (!h) throw new CliError('set DATABRICKS_HOST (or --host) to the workspace URL', 2);
  if (!token) throw new CliError('set DATABRICKS_TOKEN to a token that may write the volume', 2);
  if (!/^https?:\/\/[^/\s]+\/?$/.test(h))
    throw new CliError(`the workspace host must be a URL like https://host, got "${h}"`, 2);
  return { host: h.replace(/\/$/, ''), token };
}

/** Checks a volume folder (`/Volumes/<catalog>/<schema>/<volume>[/dir…]`) and drops a trailing slash. */
export function volumeFolder(p: string): string {
  if (!VOLUME_PATH.test(p) || p.split('/').some((s) => s === '..' || s === '.'))
    throw new CliError(
      `the volume path must look like /Volumes/<catalog>/<schema>/<volume>[/folder], got "${p}"`,
      2,
    );
  return p.replace(/\/$/, '');
}

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

/** Uploads one file; `exists` when the volume already has a file of that name (409). */
export async function uploadFile(
  target: FilesApiTarget,
  folder: string,
  localPath: string,
): Promise<UploadResult> {
  const volumePath = `${volumeFolder(folder)}/${path.basename(localPath)}`;
  const bytes = fs.statSync(localPath).size;
  const url = `${target.host}/api/2.0/fs/files${encodePath(volumePath)}?overwrite=false`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${target.token}`, 'Content-Type': 'application/octet-stream' },
      body: await fs.openAsBlob(localPath),
    });
  } catch (error: unknown) {
    throw new CliError(`could not reach ${target.host}: ${errorMessage(error)}`, 1, { cause: error });
  }
  const text = await response.text();
  if (response.status === 409) return { file: localPath, volumePath, outcome: 'exists', bytes };
  if (!response.ok) {
    const hint =
      response.status === 401 || response.status === 403
        ? ' (check DATABRICKS_TOKEN and WRITE VOLUME on the volume)'
        : '';
    throw new CliError(
      `upload of ${path.basename(localPath)} failed: HTTP ${response.status}${hint} ${text.slice(0, 300)}`.trim(),
    );
  }
  return { file: localPath, volumePath, outcome: 'uploaded', bytes };
}

/** Uploads files one after another (in the order given, so an extract's files arrive in order). */
export async function uploadFiles(
  target: FilesApiTarget,
  folder: string,
  files: readonly string[],
): Promise<UploadResult[]> {
  const results: UploadResult[] = [];
  for (const f of files) results.push(await uploadFile(target, folder, f));
  return results;
}
