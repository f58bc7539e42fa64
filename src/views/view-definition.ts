/** The JSON shape of a SQL on FHIR v2 ViewDefinition, as far as the runner reads it. */
export interface ViewDefinition {
  resourceType?: 'ViewDefinition';
  name?: string;
  resource: string;
  constant?: ViewConstant[];
  select: ViewSelect[];
  where?: { path: string; description?: string }[];
  [key: string]: unknown;
}

/** One `constant`: a name and exactly one `value[x]`. */
export interface ViewConstant {
  name: string;
  [valueX: string]: unknown;
}

/** One `select` structure. */
export interface ViewSelect {
  column?: ViewColumn[];
  select?: ViewSelect[];
  unionAll?: ViewSelect[];
  forEach?: string;
  forEachOrNull?: string;
  repeat?: string[];
}

/** One `column`. */
export interface ViewColumn {
  name: string;
  path: string;
  type?: string;
  collection?: boolean;
  description?: string;
  tag?: { name: string; value: string }[];
}

/** An output column, in the view's column order. */
export interface ColumnInfo {
  name: string;
  /** The declared FHIR type (`string`, `integer`, ...), or undefined when the view leaves it out. */
  type: string | undefined;
  collection: boolean;
}

/** One output row: every column of the view, keyed by name, `null` when empty. */
export type ViewRow = Record<string, unknown>;

/** One output row as its values in the view's column order (`ColumnInfo[]`), `null` when empty. */
export type RowValues = unknown[];
