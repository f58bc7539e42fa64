import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { BenchContext } from './context.js';
import { MB, figure } from './figures.js';

/** Bytes written per disk-ceiling pass: large enough to reach the disk, small enough for ~1 s. */
export const DISK_BYTES = 256 * 2 ** 20;
/** Write size of both ceilings. */
const BUFFER_BYTES = 2 ** 20;
/** Disk-ceiling passes; the figure is their median. */
const DISK_PASSES = 3;

/**
 * The machine's own ceilings, measured in the same run so export figures can be read as shares of
 * them: sequential disk writes with fdatasync, and one core copying the store's `json` column to a
 * file with better-sqlite3 directly (see docs/benchmarks.md, "How to read figures across machines").
 */
export async function benchCeilings(ctx: BenchContext): Promise<void> {
  const disk: number[] = [];
  for (let pass = 1; pass <= DISK_PASSES; pass++) disk.push(diskPass(join(ctx.work, 'ceiling-disk.tmp')));
  const sqlite = sqlitePass(ctx.db, join(ctx.work, 'ceiling-sqlite.tmp'));
  ctx.figures.push(
    figure('ceiling.disk', 'ceiling: sequential disk write + fdatasync', 'MB/s', disk, {
      note: `${DISK_BYTES / 2 ** 20} MiB in 1 MiB writes, median of ${DISK_PASSES} passes`,
    }),
    figure('ceiling.sqlite', 'ceiling: one core, SQLite json column to a file', 'resources/s', [
      sqlite.rows / sqlite.seconds,
    ]),
    figure('ceiling.sqlite.mbps', 'ceiling: one core, SQLite json column to a file', 'MB/s', [
      sqlite.bytes / MB / sqlite.seconds,
    ]),
  );
  ctx.details.ceilings = { diskMbps: disk, sqlite };
}

/** One pass of the disk ceiling: MB/s of writing {@link DISK_BYTES} and fdatasync, file removed. */
function diskPass(path: string): number {
  const buffer = Buffer.alloc(BUFFER_BYTES, 'x');
  const fd = openSync(path, 'w');
  try {
    const t = performance.now();
    for (let written = 0; written < DISK_BYTES; written += BUFFER_BYTES) writeSync(fd, buffer);
    fdatasyncSync(fd);
    return DISK_BYTES / MB / ((performance.now() - t) / 1000);
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
}

/**
 * One pass of the raw SQLite ceiling: every row's `json` plus a newline into one file, copied as
 * bytes (`CAST(json AS BLOB)`, as the export reader does, so no string is decoded) into a 1 MiB
 * buffer written when full, fdatasync at the end. It reads the table with SQL of its own on purpose:
 * the point is the rate of the byte path without our store, engine or worker threads.
 */
function sqlitePass(db: string, path: string): { rows: number; bytes: number; seconds: number } {
  const conn = new Database(db, { readonly: true });
  const fd = openSync(path, 'w');
  try {
    const t = performance.now();
    const rows = conn
      .prepare('SELECT CAST(json AS BLOB) FROM resource')
      .pluck()
      .iterate() as IterableIterator<Buffer>;
    const out = Buffer.allocUnsafe(BUFFER_BYTES);
    let used = 0;
    let count = 0;
    let bytes = 0;
    const flush = (): void => {
      bytes += writeSync(fd, out, 0, used);
      used = 0;
    };
    for (const json of rows) {
      if (used + json.length + 1 > BUFFER_BYTES) {
        flush();
        // A row larger than the buffer goes out on its own.
        if (json.length + 1 > BUFFER_BYTES) {
          bytes += writeSync(fd, json) + writeSync(fd, '\n');
          count++;
          continue;
        }
      }
      used += json.copy(out, used);
      out[used++] = 0x0a;
      count++;
    }
    flush();
    fdatasyncSync(fd);
    return { rows: count, bytes, seconds: (performance.now() - t) / 1000 };
  } finally {
    closeSync(fd);
    conn.close();
    unlinkSync(path);
  }
}
