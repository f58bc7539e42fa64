import type { SearchValue } from './search-extract.js';
import { compileDatePredicate } from './search-date.js';
import { compileNumberPredicate, compileQuantityPredicate } from './search-number.js';
import type { SearchParamDefinition, SearchParamType } from './search-param-table.js';
import type { SearchClause } from './search-query.js';
import { invalidFilter, unsupportedFilter } from './search-query.js';
import { compileReferencePredicate, compileUriPredicate } from './search-reference.js';
import { compileStringPredicate, compileTokenPredicate } from './search-token.js';
import type { ValuePredicate } from './search-token.js';

// Turns one search clause into a test over the values its parameter selects from a resource.
// See https://hl7.org/fhir/R4/search.html#modifiers.

/** Tests the values a parameter expression selected from one resource. */
export type ClauseTest = (values: SearchValue[]) => boolean;

/** Options that make matching deterministic. */
export interface MatchOptions {
  /** Epoch ms that `ap` on dates measures from. */
  now: number;
}

/** The modifiers we implement per parameter type (`:missing` is accepted on every type). */
const MODIFIERS: Record<SearchParamType, readonly string[]> = {
  token: ['not', 'text'],
  string: ['exact', 'contains'],
  uri: ['below', 'above'],
  reference: ['identifier'],
  date: [],
  number: [],
  quantity: [],
  composite: [],
  special: [],
};

function checkModifier(def: SearchParamDefinition, modifier: string | undefined): void {
  if (modifier === undefined || modifier === 'missing') return;
  if (MODIFIERS[def.type].includes(modifier)) return;
  // A capitalised reference modifier is a type restriction; compileReferencePredicate checks the type.
  if (def.type === 'reference' && /^[A-Z]/.test(modifier)) return;
  throw unsupportedFilter(`modifier ':${modifier}' on ${def.type} parameter '${def.name}' is not supported`);
}

function compilePredicate(
  def: SearchParamDefinition,
  raw: string,
  clause: SearchClause,
  options: MatchOptions,
) {
  const modifier = clause.modifier === 'not' ? undefined : clause.modifier;
  switch (def.type) {
    case 'token':
      return compileTokenPredicate(raw, def.name, modifier);
    case 'string':
      return compileStringPredicate(raw, modifier);
    case 'date':
      return compileDatePredicate(raw, def.name, options.now);
    case 'number':
      return compileNumberPredicate(raw, def.name);
    case 'quantity':
      return compileQuantityPredicate(raw, def.name);
    case 'reference':
      return compileReferencePredicate(raw, def.name, modifier);
    case 'uri':
      return compileUriPredicate(raw, modifier);
    default:
      throw unsupportedFilter(`${def.type} parameter '${def.name}' is not supported`);
  }
}

/**
 * Compiles a clause: OR over its comma values, true when any value of the resource matches;
 * `:not` negates that (so it also matches resources without a value), `:missing` tests presence.
 * @throws NotSupportedError for composite or special parameters and unsupported modifiers
 * @throws InvalidRequestError for a malformed search value
 */
export function compileClause(
  def: SearchParamDefinition,
  clause: SearchClause,
  options: MatchOptions,
): ClauseTest {
  if (def.type === 'composite' || def.type === 'special' || def.expression === '') {
    throw unsupportedFilter(`${def.type} parameter '${def.name}' is not supported`);
  }
  checkModifier(def, clause.modifier);
  if (clause.modifier === 'missing') {
    const [flag, ...more] = clause.values;
    if ((flag !== 'true' && flag !== 'false') || more.length > 0) {
      throw invalidFilter(`'${def.name}:missing' must be true or false`);
    }
    const missing = flag === 'true';
    return (values) => (values.length === 0) === missing;
  }
  const predicates: ValuePredicate[] = clause.values.map((raw) =>
    compilePredicate(def, raw, clause, options),
  );
  const anyMatch: ClauseTest = (values) => values.some((value) => predicates.some((p) => p(value)));
  return clause.modifier === 'not' ? (values) => !anyMatch(values) : anyMatch;
}
