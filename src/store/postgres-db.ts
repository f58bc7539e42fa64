import { userInfo } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { FhirhoseError, StoreError } from '../fhir/index.js';
import { BinaryCopyEncoder, decodeBinaryCopy } from './postgres-copy.js';
import type { ColumnKind, CopyValue } from './postgres-copy.js';

/** Something queries can run on: the pool, or one client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow>(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

// SQLSTATEs worth retrying: serialization failure, deadlock, shutdown, too many connections, and any
// connection exception (class 08).
const RETRYABLE = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300']);
const RETRYABLE_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** Wrap a driver error as a StoreError; domain errors and programmer errors pass through. */
export function storeError(err: unknown, what: string): unknown {
  if (err instanceof FhirhoseError || !(err instanceof Error)) return err;
  const code = 'code' in err ? String(err.code) : '';
  const isDriver =
    err instanceof pg.DatabaseError || RETRYABLE_NET.has(code) || /connection/i.test(err.message);
  if (!isDriver) return err;
  const retryable = RETRYABLE.has(code) || code.startsWith('08') || RETRYABLE_NET.has(code);
  return new StoreError(`database ${what} failed`, { cause: err, retryable });
}

// bigint columns (epoch milliseconds, row ids, counts) are read as numbers: they stay below 2^53.
const INT8_OID = 20;
const parseInt8 = (value: string): number => Number(value);
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** The connection URL with the operating-system user filled in when it names none, as libpq does. */
function withDefaultUser(url: string): string {
  const parsed = new URL(url);
  if (parsed.username !== '') return url;
  try {
    parsed.username = encodeURIComponent(userInfo().username);
  } catch {
    return url; // no passwd entry: leave the user to the driver's defaults
  }
  return parsed.href;
}

/** A connection pool with transactions, binary COPY in and out, and driver errors wrapped. */
export class PgDb implements Queryable {
  readonly pool: pg.Pool;

  constructor(url: string, poolSize: number) {
    this.pool = new pg.Pool({ connectionString: withDefaultUser(url), max: poolSize, types: TYPES });
    // An idle client that breaks is dropped by the pool and the next query connects anew, failing
    // there if the database is really gone; without a listener the 'error' event would end the process.
    this.pool.on('error', () => undefined);
  }

  async query<R extends QueryResultRow>(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw storeError(err, 'query');
    }
  }

  /** Run `fn` in a transaction on one client; rolled back when it throws. */
  async tx<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeError(err, 'connection');
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw storeError(err, 'transaction');
    } finally {
      client.release(broken);
    }
  }

  /**
   * Stream the rows of `COPY (query) TO STDOUT (FORMAT binary)`, one array per received chunk. The
   * client is held until the end; the copy follows the consumer's pace, so memory stays at a chunk. A
   * consumer that stops early closes that connection, as the copy cannot be stopped otherwise.
   */
  async *copyOut(query: string, kinds: readonly ColumnKind[]): AsyncGenerator<CopyValue[][]> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeError(err, 'connection');
    }
    let finished = false;
    const stream = client.query(copyTo(`COPY (${query}) TO STDOUT (FORMAT binary)`));
    try {
      for await (const rows of decodeBinaryCopy(stream, kinds)) yield rows;
      finished = true;
    } catch (err) {
      throw storeError(err, 'read');
    } finally {
      if (!finished) stream.destroy();
      client.release(!finished);
    }
  }

  /** `COPY table (columns) FROM STDIN (FORMAT binary)` of `rows` on a client (inside its transaction). */
  async copyIn(
    client: PoolClient,
    target: string,
    kinds: readonly ColumnKind[],
    rows: Iterable<readonly CopyValue[]>,
  ): Promise<void> {
    function* chunks(): Generator<Buffer> {
      const encoder = new BinaryCopyEncoder(kinds);
      for (const row of rows) {
        encoder.row(row);
        yield* encoder.take();
      }
      yield* encoder.end();
    }
    await pipeline(
      Readable.from(chunks()),
      client.query(copyFrom(`COPY ${target} FROM STDIN (FORMAT binary)`)),
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
