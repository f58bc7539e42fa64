import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { FileResult } from './events.js';

/** One issue of an OperationOutcome in an `error` file, as text for people. */
export interface ServerIssue {
  /** The error file, relative to the output folder. */
  path: string;
  severity?: string;
  code?: string;
  /** `diagnostics`, else `details.text`, else the code. */
  text: string;
}

/** The server's reasons for what it could not export: the issues of the manifest's `error` files. */
export interface ServerErrors {
  /** Issues in all error files. */
  issues: number;
  /** The first of them, in file and line order (at most the limit asked for). */
  first: ServerIssue[];
}

/** Issues kept as text by default; the rest are only counted. */
export const DEFAULT_SERVER_ISSUES = 20;

interface OutcomeLine {
  issue?: { severity?: unknown; code?: unknown; diagnostics?: unknown; details?: { text?: unknown } }[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Read the OperationOutcomes of the error files on disk, line by line (one outcome in memory at a
 * time), counting every issue and keeping the first `limit` as text. A line that is not JSON counts as
 * one issue with that as its text, so a broken file is still visible.
 */
export async function readServerErrors(
  outDir: string,
  files: readonly FileResult[],
  limit = DEFAULT_SERVER_ISSUES,
): Promise<ServerErrors> {
  const result: ServerErrors = { issues: 0, first: [] };
  const keep = (issue: ServerIssue): void => {
    result.issues++;
    if (result.first.length < limit) result.first.push(issue);
  };
  for (const file of files) {
    const full = join(outDir, file.path);
    if (file.kind !== 'error' || !existsSync(full)) continue;
    const lines = createInterface({ input: createReadStream(full), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      let outcome: OutcomeLine;
      try {
        outcome = JSON.parse(line) as OutcomeLine;
      } catch {
        keep({ path: file.path, text: 'a line that is not JSON' });
        continue;
      }
      for (const issue of Array.isArray(outcome.issue) ? outcome.issue : []) {
        const severity = str(issue?.severity);
        const code = str(issue?.code);
        const text = str(issue?.diagnostics) ?? str(issue?.details?.text) ?? code ?? 'no text';
        keep({ path: file.path, text, ...(severity ? { severity } : {}), ...(code ? { code } : {}) });
      }
    }
  }
  return result;
}
