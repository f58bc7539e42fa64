import { InvalidViewDefinitionError } from './errors.js';
import type { ViewConstant } from './view-definition.js';

const TEXT_TYPES = new Set([
  'Base64Binary',
  'Canonical',
  'Code',
  'Id',
  'Markdown',
  'Oid',
  'String',
  'Uri',
  'Url',
  'Uuid',
]);
const NUMBER_TYPES = new Set(['Integer', 'PositiveInt', 'UnsignedInt', 'Decimal']);

/** Environment variables that FHIRPath or the view itself defines; a path may use them freely. */
const BUILT_IN = new Set(['rowIndex', 'ucum', 'context', 'resource', 'rootResource', 'sct', 'loinc']);

/** Quotes `text` as a FHIRPath string literal. */
function stringLiteral(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

function literalOf(type: string, value: unknown, where: string): string {
  const bad = (): never => {
    throw new InvalidViewDefinitionError(`constant ${where} has a value that is not a valid ${type}`, {
      expression: where,
    });
  };
  if (TEXT_TYPES.has(type)) return typeof value === 'string' ? stringLiteral(value) : bad();
  if (type === 'Boolean') return typeof value === 'boolean' ? String(value) : bad();
  if (NUMBER_TYPES.has(type)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return bad();
    // A whole decimal must stay a Decimal, so 1 is written 1.0; a negative number needs parentheses.
    const text = type === 'Decimal' && Number.isInteger(value) ? value.toFixed(1) : String(value);
    return value < 0 ? `(${text})` : text;
  }
  if (type === 'Integer64') {
    const text = typeof value === 'number' || typeof value === 'string' ? String(value) : bad();
    return /^-?\d+$/.test(text) ? `${text}L` : bad();
  }
  if (typeof value !== 'string' || !/^[0-9T:.+\-Z]+$/.test(value)) return bad();
  if (type === 'Date') return `@${value}`;
  if (type === 'DateTime') return value.includes('T') ? `@${value}` : `@${value}T`;
  if (type === 'Instant') return `@${value}`;
  if (type === 'Time') return `@T${value}`;
  return bad();
}

/**
 * Turns the view's constants into FHIRPath literal text by name. The spec says `%name` behaves as if
 * the typed literal were written in its place, which is exactly what {@link substituteConstants} does:
 * fhirpath.js compares a FHIR date with a Date literal, not with a string environment variable.
 */
export function constantLiterals(constants: readonly ViewConstant[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  (constants ?? []).forEach((c, i) => {
    const where = `constant[${i}]`;
    const valueKeys = Object.keys(c).filter((k) => k.startsWith('value') && k.length > 5);
    if (valueKeys.length !== 1) {
      throw new InvalidViewDefinitionError(`constant ${String(c.name)} needs exactly one value[x]`, {
        expression: where,
      });
    }
    const key = valueKeys[0]!;
    out.set(c.name, literalOf(key.slice(5), c[key], `${where}.${key}`));
  });
  return out;
}

/**
 * Replaces each `%name` of a view constant in `expression` by its literal, leaving string literals,
 * quoted identifiers and comments alone. Throws when a `%name` is neither a constant nor built in.
 */
export function substituteConstants(
  expression: string,
  literals: ReadonlyMap<string, string>,
  where: string,
): string {
  let out = '';
  let i = 0;
  while (i < expression.length) {
    const ch = expression[i]!;
    if (ch === "'" || ch === '`') {
      const end = closingQuote(expression, i);
      out += expression.slice(i, end);
      i = end;
    } else if (ch === '%' && /[A-Za-z_]/.test(expression[i + 1] ?? '')) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expression.slice(i + 1))![0];
      const literal = literals.get(name);
      if (literal === undefined && !BUILT_IN.has(name)) {
        throw new InvalidViewDefinitionError(`${where} uses the undefined constant %${name}`, {
          expression: where,
        });
      }
      out += literal ?? `%${name}`;
      i += name.length + 1;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** The index just past the quote that closes the one at `start`, or the end of the text. */
function closingQuote(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
  return Math.min(i + 1, text.length);
}
