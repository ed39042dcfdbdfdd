// Where `lifeline demo` writes its HTML report: checked before the run (a path that cannot be written is a
// usage error at once, not a failure after a minute of faults), written whole or not at all (a temporary
// file renamed over the target), and an interrupted run's report goes beside the full one, never over it.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { UsageError } from './args.js';

function reason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'its directory does not exist';
  if (code === 'ENOTDIR') return 'part of the path is not a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'no permission to write there';
  if (code === 'EROFS') return 'the file system is read-only';
  return (error as Error).message;
}

/** A temporary name beside `path`, so the final rename stays on one file system. */
function temporary(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * The absolute report path, once it is known that a file can be written there: the directory exists and
 * takes a new file (tried for real, which also catches read-only file systems and root on them), and an
 * existing file there is a regular file that can be replaced.
 */
export async function checkReportPath(file: string): Promise<string> {
  const path = resolve(file);
  const fail = (why: string): UsageError =>
    new UsageError(`--report ${file}: cannot write the report there: ${why}`);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw fail('it is a directory; give a file name, such as demo.html');
  if (existing && !existing.isFile()) throw fail('it is not a regular file');
  const probe = temporary(path);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (error) {
    throw fail(reason(error));
  }
  await rm(probe, { force: true });
  if (existing)
    await access(path, constants.W_OK).catch((error: unknown) => Promise.reject(fail(reason(error))));
  return path;
}

/** `demo.html` → `demo.partial.html`: where an interrupted run's report goes. */
export function partialReportPath(path: string): string {
  const extension = extname(path);
  return join(dirname(path), `${basename(path, extension)}.partial${extension || '.html'}`);
}

/** Writes the report whole: readers of `path` see the old file or the new one, never half of one. */
export async function writeReport(path: string, html: string): Promise<void> {
  const staging = temporary(path);
  try {
    await writeFile(staging, html, { flag: 'wx' });
    await rename(staging, path);
  } catch (error) {
    await rm(staging, { force: true });
    throw error;
  }
}
