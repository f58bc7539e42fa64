import { fhirpathEngine, r4Model } from '../fhir/index.js';
import { InvalidViewDefinitionError, ViewEvaluationError } from './errors.js';
import { referenceKey, resourceKey } from './resource-keys.js';

/** Evaluates one compiled path on a focus, with `%rowIndex` bound, to a FHIRPath collection. */
export type Getter = (focus: unknown, rowIndex: number) => unknown[];

interface TypeArgument {
  name?: string;
}

let functions: Record<string, unknown> | undefined;

/** The two functions SQL on FHIR adds to FHIRPath, and its `join`, in fhirpath.js's user invocation table form. */
function viewFunctions(): Record<string, unknown> {
  const { util } = fhirpathEngine();
  functions ??= {
    getResourceKey: {
      fn: (inputs: unknown[]) =>
        inputs.map((i) => resourceKey(util.valData(i))).filter((k) => k !== undefined),
      arity: { 0: [] },
    },
    getReferenceKey: {
      fn: (inputs: unknown[], type?: TypeArgument) =>
        inputs.map((i) => referenceKey(util.valData(i), type?.name)).filter((k) => k !== undefined),
      arity: { 0: [], 1: ['TypeSpecifier'] },
    },
    // The suite wants "" for the join of nothing; fhirpath.js gives empty.
    join: {
      fn: (inputs: unknown[], separator?: string) => [
        inputs.map((i) => String(util.valData(i))).join(separator ?? ''),
      ],
      arity: { 0: [], 1: ['String'] },
    },
  };
  return functions;
}

/** Throws InvalidViewDefinitionError when `expression` is not FHIRPath, naming `where`. */
export function checkSyntax(expression: string, where: string): void {
  try {
    fhirpathEngine().parse(expression);
  } catch (cause) {
    throw new InvalidViewDefinitionError(`${where} is not a valid FHIRPath expression: ${expression}`, {
      expression: where,
      cause,
    });
  }
}

/**
 * Compiles `expression` once with fhirpath.js and the R4 model (so `value.ofType(Quantity)` finds
 * `valueQuantity`). `base` is the element path of foci that carry no type of their own, such as
 * objects found by the fast path (`Patient.name`); fhirpath.js's own results carry theirs.
 */
export function compileFhirpath(expression: string, where: string, base?: string): Getter {
  checkSyntax(expression, where);
  const engine = fhirpathEngine();
  const options = { userInvocationTable: viewFunctions() as never, async: false as const };
  let fn: (focus: unknown, env: Record<string, unknown>) => unknown[];
  try {
    fn = engine.compile(
      base === undefined ? expression : { base, expression },
      r4Model(),
      options,
    ) as typeof fn;
  } catch (cause) {
    throw new InvalidViewDefinitionError(`${where} does not compile: ${expression}`, {
      expression: where,
      cause,
    });
  }
  return (focus, rowIndex) => {
    try {
      return fn(focus, { rowIndex });
    } catch (cause) {
      throw new ViewEvaluationError(`${where} failed: ${(cause as Error).message}`, {
        expression: where,
        cause,
      });
    }
  };
}
