import { childPath, choicePath, extensionPath } from './model-path.js';
import type { ModelPath } from './model-path.js';
import { referenceKey, resourceKey } from './resource-keys.js';

/** What a fast getter returns when the data needs fhirpath.js after all (a primitive extension). */
export const FALLBACK: unique symbol = Symbol('fallback');

/** A fast getter: the collection, or FALLBACK to ask the caller to use fhirpath.js. */
export type FastGetter = (focus: unknown, rowIndex: number) => unknown[] | typeof FALLBACK;

type Step = (items: unknown[]) => unknown[] | typeof FALLBACK;

/** A fast getter and the model path of what it returns (undefined when it is not an element). */
export interface FastPath {
  get: FastGetter;
  result: ModelPath | undefined;
}

const RESERVED = new Set([
  'and',
  'or',
  'xor',
  'implies',
  'div',
  'mod',
  'in',
  'contains',
  'is',
  'as',
  'true',
  'false',
]);
const MEMBER = /^([a-z][A-Za-z0-9_]*)(?:\[(\d+)\])?(?![A-Za-z0-9_(])/;
const CRITERION = /^([a-z][A-Za-z0-9_]*(?:\.[a-z][A-Za-z0-9_]*)*)\s*=\s*(?:'([^'\\]*)'|(true|false))/;
const CHOICE = /^([a-z][A-Za-z0-9_]*)\.ofType\(\s*([A-Za-z]+)\s*\)/;
const EXTENSION = /^extension\(\s*'([^'\\]*)'\s*\)/;
const JOIN = /^join\(\s*(?:'([^'\\]*)')?\s*\)/;
/** FHIR types whose JSON value equals a FHIRPath string literal exactly when the two are equal. */
const STRING_TYPES = new Set([
  'string',
  'code',
  'id',
  'uri',
  'url',
  'canonical',
  'oid',
  'uuid',
  'markdown',
  'System.String',
]);
const REFERENCE_KEY = /^getReferenceKey\(\s*([A-Z][A-Za-z]*)?\s*\)/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The values of `name` on every item, as fhirpath.js navigates JSON: arrays flattened, nulls dropped. */
function memberStep(name: string): Step {
  const shadow = `_${name}`;
  return (items) => {
    const out: unknown[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!isObject(item)) continue;
      // A primitive with an extension (`_given`) is an element fhirpath.js knows and we do not model.
      if (item[shadow] !== undefined) return FALLBACK;
      const v = item[name];
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) {
        for (let j = 0; j < v.length; j++) if (v[j] !== null && v[j] !== undefined) out.push(v[j]);
      } else out.push(v);
    }
    return out;
  };
}

/** `items.map(key)` without the undefined keys, in one pass and one array. */
function keysOf(items: unknown[], key: (item: unknown) => string | undefined): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < items.length; i++) {
    const k = key(items[i]);
    if (k !== undefined) out.push(k);
  }
  return out;
}

type Test = (item: unknown) => boolean | typeof FALLBACK;

/**
 * Parses `a.b = 'x' and c = true ...)` (the inside of `where(` or `exists(`, up to and including the
 * closing parenthesis) into a test of one item. A comparison is true only when its side gives exactly
 * one value equal to the literal; empty and false both drop the item, as in fhirpath.js.
 */
function parseCriteria(text: string, at: ModelPath): { test: Test; length: number } | undefined {
  const tests: { chain: Step[]; literal: string | boolean }[] = [];
  let pos = 0;
  for (;;) {
    const m = CRITERION.exec(text.slice(pos));
    if (!m) return undefined;
    let path: ModelPath | undefined = at;
    const chain: Step[] = [];
    for (const name of m[1]!.split('.')) {
      path = path && childPath(path, name);
      chain.push(memberStep(name));
    }
    if (!path?.primitive) return undefined;
    const literal = m[2] ?? m[3] === 'true';
    if (typeof literal === 'string' ? !STRING_TYPES.has(path.type) : path.type !== 'boolean')
      return undefined;
    tests.push({ chain, literal });
    pos += m[0].length;
    const close = /^\s*\)/.exec(text.slice(pos));
    if (close) {
      pos += close[0].length;
      break;
    }
    const and = /^\s+and\s+/.exec(text.slice(pos));
    if (!and) return undefined;
    pos += and[0].length;
  }
  const test: Test = (item) => {
    for (const t of tests) {
      let values: unknown[] = [item];
      for (const step of t.chain) {
        const next = step(values);
        if (next === FALLBACK) return FALLBACK;
        values = next;
      }
      if (values.length !== 1 || values[0] !== t.literal) return false;
    }
    return true;
  };
  return { test, length: pos };
}

function filterStep(test: Test, exists: boolean): Step {
  return (items) => {
    const out: unknown[] = [];
    for (const item of items) {
      const keep = test(item);
      if (keep === FALLBACK) return FALLBACK;
      if (keep) out.push(item);
    }
    return exists ? [out.length > 0] : out;
  };
}

interface Parsed {
  step: Step;
  length: number;
  next: ModelPath | undefined;
}

type StepParser = (rest: string, at: ModelPath) => Parsed | undefined;

const FIXED: Record<string, Step> = {
  // Steps never change the arrays they are given, so a short one can be passed on as it is.
  'first()': (items) => (items.length <= 1 ? items : [items[0]]),
  'exists()': (items) => [items.length > 0],
  'empty()': (items) => [items.length === 0],
  'getResourceKey()': (items) => keysOf(items, resourceKey),
};

/** The steps that need no model: they work on any focus. */
function parseFixed(rest: string, at: ModelPath | undefined): Parsed | undefined {
  for (const [text, step] of Object.entries(FIXED)) {
    if (rest.startsWith(text))
      return { step, length: text.length, next: text === 'first()' ? at : undefined };
  }
  return undefined;
}

const parseReferenceKey: StepParser = (rest) => {
  const ref = REFERENCE_KEY.exec(rest);
  if (!ref) return undefined;
  const type = ref[1];
  const key = (item: unknown): string | undefined => referenceKey(item, type);
  const step: Step = (items) => keysOf(items, key);
  return { step, length: ref[0].length, next: undefined };
};

const parseFilter: StepParser = (rest, at) => {
  const fn = ['where(', 'exists('].find((f) => rest.startsWith(f));
  if (fn === undefined) return undefined;
  const criteria = parseCriteria(rest.slice(fn.length), at);
  if (!criteria) return undefined;
  const exists = fn === 'exists(';
  return {
    step: filterStep(criteria.test, exists),
    length: fn.length + criteria.length,
    next: exists ? undefined : at,
  };
};

const parseJoin: StepParser = (rest) => {
  const join = JOIN.exec(rest);
  if (!join) return undefined;
  const separator = join[1] ?? '';
  return { step: (items) => [items.map(String).join(separator)], length: join[0].length, next: undefined };
};

const parseExtension: StepParser = (rest, at) => {
  const extension = EXTENSION.exec(rest);
  if (!extension) return undefined;
  const url = extension[1];
  const get = memberStep('extension');
  const step: Step = (items) => {
    const all = get(items);
    return all === FALLBACK ? all : all.filter((e) => isObject(e) && e.url === url);
  };
  return { step, length: extension[0].length, next: extensionPath(at) };
};

/** `value.ofType(Quantity)`: the choice element read under its typed JSON name, `valueQuantity`. */
const parseChoice: StepParser = (rest, at) => {
  const choice = CHOICE.exec(rest);
  if (!choice) return undefined;
  const next = choicePath(at, choice[1]!, choice[2]!);
  if (!next) return undefined;
  const name = choice[1]! + choice[2]!.charAt(0).toUpperCase() + choice[2]!.slice(1);
  return { step: memberStep(name), length: choice[0].length, next };
};

const parseMember: StepParser = (rest, at) => {
  const member = MEMBER.exec(rest);
  if (!member || RESERVED.has(member[1]!)) return undefined;
  const next = childPath(at, member[1]!);
  if (!next) return undefined;
  const get = memberStep(member[1]!);
  if (member[2] === undefined) return { step: get, length: member[0].length, next };
  const index = Number(member[2]);
  const step: Step = (items) => {
    const all = get(items);
    return all === FALLBACK ? all : all.slice(index, index + 1);
  };
  return { step, length: member[0].length, next };
};

// Each parser matches a form no other one matches, so the first answer is the only one.
const MODEL_PARSERS: StepParser[] = [
  parseReferenceKey,
  parseFilter,
  parseJoin,
  parseExtension,
  parseChoice,
  parseMember,
];

/** Parses one step of a chain at the start of `rest`, or undefined when it is not in the fast subset. */
function parseStep(rest: string, at: ModelPath | undefined): Parsed | undefined {
  const fixed = parseFixed(rest, at);
  if (fixed || at === undefined) return fixed;
  for (const parse of MODEL_PARSERS) {
    const parsed = parse(rest, at);
    if (parsed) return parsed;
  }
  return undefined;
}

/**
 * Compiles the simple paths most views consist of (`name.family`, `telecom.where(system = 'phone')
 * .value`, `id`, `'literal'`, `%rowIndex`, `first()`, `exists()`, the key functions) into getters that
 * walk the JSON directly. `from` is where the focus sits in the model; the fast path is refused
 * (undefined) for anything else, including choice elements and unknown foci, which fhirpath.js
 * handles.
 */
export function compileFastPath(expression: string, from: ModelPath | undefined): FastPath | undefined {
  const text = expression.trim();
  const literal = /^'([^'\\]*)'$/.exec(text);
  if (literal) return { get: () => [literal[1]], result: undefined };
  if (text === '%rowIndex') return { get: (_focus, rowIndex) => [rowIndex], result: undefined };
  const steps: Step[] = [];
  let at = from;
  let pos = 0;
  if (text.startsWith('$this')) pos = 5;
  else if (text.length === 0) return undefined;
  while (pos < text.length) {
    if (pos > 0) {
      if (text[pos] !== '.') return undefined;
      pos++;
    }
    const parsed = parseStep(text.slice(pos), at);
    if (!parsed) return undefined;
    steps.push(parsed.step);
    at = parsed.next;
    pos += parsed.length;
  }
  const count = steps.length;
  const get: FastGetter = (focus) => {
    let items: unknown[] = [focus];
    for (let i = 0; i < count; i++) {
      const next = steps[i]!(items);
      if (next === FALLBACK) return FALLBACK;
      items = next;
    }
    return items;
  };
  return { get, result: at };
}
