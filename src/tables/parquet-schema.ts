import type { ParquetWriter } from 'hyparquet-writer';
import type { ColumnInfo } from '../views/index.js';

/** A Parquet schema element, as the writer takes it. */
export type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];

/** How one column's values become Parquet values. */
export interface ParquetColumn {
  name: string;
  /** Schema elements of the column: one for a scalar, three (the LIST layout) for a collection. */
  elements: SchemaElement[];
  /** One value as the leaf stores it; null stays null. */
  convert: (value: unknown) => unknown;
  collection: boolean;
}

type Leaf = Pick<ParquetColumn, 'convert'> & { element: Omit<SchemaElement, 'name'> };

const FHIR_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
const UTF8: Leaf = { element: { type: 'BYTE_ARRAY', converted_type: 'UTF8' }, convert: text };
// The writer serializes a JSON leaf itself, so the object goes in as it is.
const JSON_TEXT: Leaf = { element: { type: 'BYTE_ARRAY', converted_type: 'JSON' }, convert: (v) => v };
const INT32: Leaf = { element: { type: 'INT32' }, convert: (v) => Number(v) };
const INT64: Leaf = { element: { type: 'INT64' }, convert: (v) => BigInt(v as string | number) };
const BOOLEAN: Leaf = { element: { type: 'BOOLEAN' }, convert: (v) => v === true || v === 'true' };
const BINARY: Leaf = {
  element: { type: 'BYTE_ARRAY' },
  convert: (v) => new Uint8Array(Buffer.from(String(v), 'base64')),
};

// The digest's SQL mapping (spec §2.3): boolean and the integers get their own types; decimal, date,
// dateTime, time and instant stay strings so their precision and offset survive exactly as written.
const LEAVES: Record<string, Leaf> = {
  boolean: BOOLEAN,
  integer: INT32,
  positiveInt: INT32,
  unsignedInt: INT32,
  integer64: INT64,
  base64Binary: BINARY,
};

function leafFor(type: string | undefined): Leaf {
  if (type === undefined) return UTF8;
  const name = type.startsWith(FHIR_PREFIX) ? type.slice(FHIR_PREFIX.length) : type;
  const known = LEAVES[name];
  if (known) return known;
  // Primitive type names start lower-case; a complex type (Quantity, Observation.referenceRange) is
  // an object, kept whole as JSON text.
  return /^[a-z]/.test(name) ? UTF8 : JSON_TEXT;
}

/** The Parquet layout of one view column: a typed OPTIONAL leaf, or a LIST of them. */
export function parquetColumn(column: ColumnInfo): ParquetColumn {
  const leaf = leafFor(column.type);
  const convert = (v: unknown): unknown => (v === null || v === undefined ? null : leaf.convert(v));
  if (!column.collection) {
    return {
      name: column.name,
      elements: [{ name: column.name, repetition_type: 'OPTIONAL', ...leaf.element }],
      convert,
      collection: false,
    };
  }
  return {
    name: column.name,
    elements: [
      { name: column.name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL', ...leaf.element },
    ],
    convert: (v) => (Array.isArray(v) ? v.map(convert) : v === null || v === undefined ? null : [convert(v)]),
    collection: true,
  };
}

/** The whole file schema: the root, then each column's elements in column order. */
export function parquetSchema(columns: readonly ParquetColumn[]): SchemaElement[] {
  return [{ name: 'root', num_children: columns.length }, ...columns.flatMap((c) => c.elements)];
}
