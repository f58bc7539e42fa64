// SQL on FHIR v2 ViewDefinitions: validation, compilation and row generation. No I/O.
export { InvalidViewDefinitionError, ViewEvaluationError } from './errors.js';
export { createViewRunner, runView, runViewAsync } from './run-view.js';
export type { ViewRunner } from './run-view.js';
export { compileView } from './compile-view.js';
export type { CompileViewOptions, CompiledView } from './compile-view.js';
export { compileFastPath } from './fast-path.js';
export { compileFhirpath } from './fhirpath-getter.js';
export { rootPath, childPath } from './model-path.js';
export type { ModelPath } from './model-path.js';
export { referenceKey, resourceKey } from './resource-keys.js';
export type {
  ColumnInfo,
  ViewColumn,
  ViewConstant,
  ViewDefinition,
  RowValues,
  ViewRow,
  ViewSelect,
} from './view-definition.js';
