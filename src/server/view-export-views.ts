import type { ViewExportView } from '../export/index.js';
import {
  ForbiddenError,
  InvalidRequestError,
  NotSupportedError,
  UnprocessableResourceError,
} from '../fhir/index.js';
import { createEncoder } from '../tables/index.js';
import type { TableFormat } from '../tables/index.js';
import { createViewRunner, InvalidViewDefinitionError } from '../views/index.js';
import type { ReadAccess } from '../export/index.js';
import type { ViewResolver, ViewSource } from './view-export-wire.js';

// Output names become file names (`<name>.part<k>.<ext>`) and URL segments.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** What the kick-off needs to check its views. */
export interface ViewCheck {
  format: TableFormat;
  header: boolean;
  /** Resolves `viewReference`; absent, references are not supported. */
  resolve?: ViewResolver;
  /** The token's grant; undefined when authorization is off. */
  access?: ReadAccess;
}

async function definitionOf(source: ViewSource, index: number, resolve?: ViewResolver): Promise<unknown> {
  if (source.resource !== undefined) return source.resource;
  if (!resolve) {
    throw new NotSupportedError(
      'viewReference is not supported by this server; send the view inline as viewResource',
      { expression: `view[${index}].viewReference` },
    );
  }
  return resolve(source.reference as string);
}

/**
 * Resolve, validate and name every view before the job starts: a view that does not compile, or has
 * a collection column in CSV, is refused naming the view and the element; a type the scopes do not
 * cover is forbidden. Names are the part `name`, else the ViewDefinition's `name`, else `view-<n>`.
 * @throws UnprocessableResourceError for an invalid view, InvalidRequestError for a bad or repeated
 * name, NotSupportedError for a reference without a resolver, ForbiddenError for scopes
 */
export async function checkViews(sources: ViewSource[], check: ViewCheck): Promise<ViewExportView[]> {
  const views: ViewExportView[] = [];
  const names = new Set<string>();
  for (const [i, source] of sources.entries()) {
    const definition = await definitionOf(source, i, check.resolve);
    const label = source.name ?? (definition as { name?: unknown }).name ?? `#${i + 1}`;
    let resource: string;
    try {
      const runner = createViewRunner(definition);
      createEncoder(check.format, runner.columns, { header: check.header });
      resource = runner.resource;
    } catch (err) {
      if (!(err instanceof InvalidViewDefinitionError)) throw err;
      throw new UnprocessableResourceError(`view '${String(label)}' (view[${i}]): ${err.message}`, {
        expression: `view[${i}]${err.expression ? `.${err.expression}` : ''}`,
        cause: err,
      });
    }
    if (check.access && !check.access.canRead(resource)) {
      throw new ForbiddenError(`the access token's scopes do not allow reading ${resource} (view[${i}])`, {
        expression: `view[${i}]`,
      });
    }
    const name = nameOf(source, definition, i, names);
    names.add(name);
    views.push({ name, resource, definition: definition as object });
  }
  return views;
}

function nameOf(source: ViewSource, definition: unknown, index: number, taken: Set<string>): string {
  if (source.name !== undefined && !SAFE_NAME.test(source.name)) {
    throw new InvalidRequestError(
      `view[${index}].name '${source.name}' must be letters, digits, '_' or '-' (at most 64)`,
      { expression: `view[${index}].name` },
    );
  }
  const own = (definition as { name?: unknown }).name;
  let name = source.name ?? (typeof own === 'string' && SAFE_NAME.test(own) ? own : undefined);
  if (name !== undefined && taken.has(name)) {
    throw new InvalidRequestError(`two views are named '${name}'; give each view a distinct name part`, {
      expression: `view[${index}].name`,
    });
  }
  for (let n = index + 1; name === undefined || taken.has(name); n++) name = `view-${n}`;
  return name;
}
