import { DuckDBInstance } from '@duckdb/node-api';

/** A Parquet file as DuckDB reads it: column names and types from its schema, and its rows as JSON. */
export interface ParquetRead {
  schema: { name: string; type: string }[];
  rows: Record<string, unknown>[];
  rowGroups: number;
}

// DuckDB is a reader written independently of hyparquet-writer, so a file it reads back is valid
// Parquet and not just a file the writer's own companion reader agrees with.
export async function readParquet(path: string): Promise<ParquetRead> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const quoted = `'${path.replace(/'/g, "''")}'`;
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoted})`);
    const schema = described.getRowObjectsJson().map((r) => ({
      name: String(r['column_name']),
      type: String(r['column_type']),
    }));
    const read = await connection.runAndReadAll(`SELECT * FROM read_parquet(${quoted})`);
    const groups = await connection.runAndReadAll(
      `SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata(${quoted})`,
    );
    return {
      schema,
      rows: read.getRowObjectsJson() as Record<string, unknown>[],
      rowGroups: Number(groups.getRowObjectsJson()[0]?.['n'] ?? 0),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
