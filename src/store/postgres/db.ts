import { userInfo } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { FhirhoseError, StoreError } from '../../fhir/index.js';
import { BinaryCopyEncoder, decodeBinaryCopy } from './copy.js';
import { CopyOutNdjson } from './copy-out.js';
import type { NdjsonChunk } from '../types.js';
import type { ColumnKind, CopyValue } from './copy.js';

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

/**
 * Wrap a driver error as a StoreError; domain errors and programmer errors (TypeError, RangeError)
 * pass through. An error the server did not send (a refused or broken connection) is retryable.
 */
export function storeError(err: unknown, what: string): unknown {
  if (err instanceof FhirhoseError || err instanceof TypeError || err instanceof RangeError) return err;
  if (!(err instanceof Error)) return err;
  const fromServer = err instanceof pg.DatabaseError;
  const retryable = !fromServer || RETRYABLE.has(err.code ?? '') || (err.code ?? '').startsWith('08');
  return new StoreError(`database ${what} failed`, { cause: err, retryable });
}

// bigint columns (epoch milliseconds, row ids, counts) are read as numbers: they stay below 2^53.
const INT8_OID = 20;
const parseInt8 = (value: string): number => Number(value);
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * A PostgreSQL URL with a user: the operating-system user when it names none, as libpq does. `PGUSER`
 * is libpq's first choice; the CLI, which alone reads the environment, puts it in the URL before this.
 */
export function withDefaultUser(url: string): string {
  const parsed = new URL(url);
  if (parsed.username !== '') return url;
  try {
    parsed.username = encodeURIComponent(userInfo().username);
  } catch {
    // no passwd entry: the driver's defaults apply
    return url;
  }
  return parsed.href;
}

/**
 * The connection URL as the pool takes it: the operating-system user filled in when it names none, as
 * libpq does; JIT compilation off, as it costs more than it saves on our short or streaming queries;
 * and no parallel query, as exports already run units in parallel and its workers compete with them.
 */
function connectionUrl(url: string): string {
  const parsed = new URL(withDefaultUser(url));
  const options = parsed.searchParams.get('options');
  parsed.searchParams.set(
    'options',
    `${options ?? ''} -c jit=off -c max_parallel_workers_per_gather=0`.trim(),
  );
  return parsed.href;
}

/** A connection pool with transactions, binary COPY in and out, and driver errors wrapped. */
export class PgDb implements Queryable {
  readonly pool: pg.Pool;

  constructor(url: string, poolSize: number) {
    this.pool = new pg.Pool({ connectionString: connectionUrl(url), max: poolSize, types: TYPES });
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
   * Stream the rows of `COPY (query) TO STDOUT (FORMAT binary)`, one array per received chunk, in a
   * read-only transaction with `settings` (`SET LOCAL` values, to steer the plan). The client is held
   * until the end; the copy follows the consumer's pace, so memory stays at a chunk. A consumer that
   * stops early closes that connection, as the copy cannot be stopped otherwise.
   */
  async *copyOut(
    query: string,
    kinds: readonly ColumnKind[],
    settings: string[] = [],
  ): AsyncGenerator<CopyValue[][]> {
    yield* this.copiesInSnapshot([this.rowsStep(query, kinds, settings)]);
  }

  /**
   * The single text column of `query` as NDJSON chunks of about 512 KiB (see `copyOut` for the
   * transaction, the settings and the pace): no object is made per row.
   */
  async *copyOutNdjson(query: string, settings: string[] = []): AsyncGenerator<NdjsonChunk> {
    yield* this.copiesInSnapshot([this.ndjsonStep(query, settings)]);
  }

  /**
   * Several reads, one after another, in one read-only REPEATABLE READ transaction on one connection,
   * so that every statement sees the same snapshot (a scan's current rows and its history rows: a
   * version a write moves from one table to the other between the statements is then seen once).
   * Each step issues its own statements on the client it is given; see `copyOutNdjson` for the pace.
   */
  async *copiesInSnapshot<T>(
    steps: readonly ((client: PoolClient) => AsyncIterable<T>)[],
  ): AsyncGenerator<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeError(err, 'connection');
    }
    let finished = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      for (const step of steps) yield* step(client);
      await client.query('COMMIT');
      finished = true;
    } catch (err) {
      throw storeError(err, 'read');
    } finally {
      client.release(!finished);
    }
  }

  /** A step of `copiesInSnapshot`: `COPY (query) TO STDOUT (FORMAT binary)` with `SET LOCAL` settings. */
  ndjsonStep(query: string, settings: string[]): (client: PoolClient) => AsyncIterable<NdjsonChunk> {
    return (client) =>
      copyStep(client, {
        query,
        settings,
        start: (c, sql) => c.query(new CopyOutNdjson(sql)),
        read: (stream) => stream as AsyncIterable<NdjsonChunk>,
      });
  }

  /** A step of `copiesInSnapshot` that decodes rows of the given kinds, as `copyOut` does. */
  rowsStep(
    query: string,
    kinds: readonly ColumnKind[],
    settings: string[],
  ): (client: PoolClient) => AsyncIterable<CopyValue[][]> {
    return (client) =>
      copyStep(client, {
        query,
        settings,
        start: (c, sql) => c.query(copyTo(sql)),
        read: (stream) => decodeBinaryCopy(stream, kinds),
      });
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

/** One COPY read on a client inside its transaction; the stream is destroyed if the reader stops early. */
async function* copyStep<S extends Readable, T>(
  client: PoolClient,
  step: {
    query: string;
    settings: string[];
    start: (client: PoolClient, sql: string) => S;
    read: (stream: S) => AsyncIterable<T>;
  },
): AsyncGenerator<T> {
  if (step.settings.length > 0) await client.query(step.settings.map((s) => `SET LOCAL ${s}`).join('; '));
  const stream = step.start(client, `COPY (${step.query}) TO STDOUT (FORMAT binary)`);
  let done = false;
  try {
    yield* step.read(stream);
    done = true;
  } finally {
    if (!done) stream.destroy();
  }
}
