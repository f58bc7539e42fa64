import { isStoredType } from '../fhir/index.js';

// SMART App Launch 2.2 scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html),
// `system/` context only: backend services act for no user or patient.

/** One SMART v2 permission letter. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

const ORDER = 'cruds';
const V1_PERMS: Readonly<Record<string, string>> = { read: 'rs', write: 'cud', '*': 'cruds' };
const V1_NAMES: Readonly<Record<string, string>> = { rs: 'read', cud: 'write', cruds: '*' };

/** A parsed `system/` scope. `perms` is an ordered subset of `cruds`. */
export interface SystemScope {
  /** A resource type, or `*` for every type (including types added later). */
  type: string;
  perms: string;
  /** The syntax it was written in, so a grant answers in the same one (SMART 2.2 §scopes v1). */
  syntax: 'v1' | 'v2';
}

/**
 * The operator scope of this server: it opens the dashboard (docs/dashboard.md) and grants no resource
 * access. It is ours, not SMART's, so it is namespaced by the server's name, not a resource type.
 */
export const ADMIN_SCOPE = 'system/fhirhose.admin';

/** What one scope string is. */
export type ScopeParse =
  | { kind: 'system'; scope: SystemScope }
  | { kind: 'admin' }
  | { kind: 'other' }
  | { kind: 'invalid'; reason: string };

const SYSTEM_RE = /^system\/([^.?]+)\.([^?]+)(\?.*)?$/;

/**
 * Parse one scope. Non-`system/` scopes (`openid`, `patient/...`) are `other`: this server never grants
 * them. Granular v2 scopes (`?param=value`) are `invalid`, because they are not enforced on exports yet.
 * @param text - one space-free scope token
 */
export function parseScope(text: string): ScopeParse {
  if (!text.startsWith('system/')) return { kind: 'other' };
  if (text === ADMIN_SCOPE) return { kind: 'admin' };
  const m = SYSTEM_RE.exec(text);
  if (!m) return { kind: 'invalid', reason: `scope '${text}' is not system/<Type|*>.<permissions>` };
  const [, type, suffix, query] = m as unknown as [string, string, string, string | undefined];
  if (query !== undefined) {
    return { kind: 'invalid', reason: `granular scope '${text}' is not supported; drop the ?query` };
  }
  if (type !== '*' && !isStoredType(type)) {
    return { kind: 'invalid', reason: `scope '${text}' names an unknown resource type` };
  }
  const v1 = V1_PERMS[suffix];
  if (v1 !== undefined) return { kind: 'system', scope: { type, perms: v1, syntax: 'v1' } };
  if (!isOrderedPerms(suffix)) {
    return { kind: 'invalid', reason: `scope '${text}' permissions must be an ordered subset of 'cruds'` };
  }
  return { kind: 'system', scope: { type, perms: suffix, syntax: 'v2' } };
}

function isOrderedPerms(text: string): boolean {
  let at = -1;
  for (const ch of text) {
    const i = ORDER.indexOf(ch);
    if (i <= at) return false;
    at = i;
  }
  return text.length > 0;
}

/** The text of a scope, in v1 syntax when it was v1 and v1 can say it. */
export function formatScope(scope: SystemScope): string {
  const v1 = scope.syntax === 'v1' ? V1_NAMES[scope.perms] : undefined;
  return `system/${scope.type}.${v1 ?? scope.perms}`;
}

/** The part of `wanted` that `allowed` covers, or undefined when nothing is. */
export function intersectScope(wanted: SystemScope, allowed: SystemScope): SystemScope | undefined {
  let type: string;
  if (wanted.type === allowed.type || allowed.type === '*') type = wanted.type;
  else if (wanted.type === '*') type = allowed.type;
  else return undefined;
  const perms = [...ORDER].filter((p) => wanted.perms.includes(p) && allowed.perms.includes(p)).join('');
  return perms === '' ? undefined : { type, perms, syntax: wanted.syntax };
}

/** A set of granted system scopes, answering what a client may do with a resource type. */
export class ScopeSet {
  readonly scopes: readonly SystemScope[];
  /** The operator scope ({@link ADMIN_SCOPE}) is in the set. */
  readonly admin: boolean;

  constructor(scopes: readonly SystemScope[], admin = false) {
    this.scopes = scopes;
    this.admin = admin;
  }

  /**
   * The system scopes in a space-separated list; other and invalid scopes are dropped, so a token from
   * an external issuer with extra scopes still works for what it does grant.
   */
  static parse(text: string): ScopeSet {
    const scopes: SystemScope[] = [];
    let admin = false;
    for (const token of text.split(' ')) {
      const parsed = parseScope(token);
      if (parsed.kind === 'system') scopes.push(parsed.scope);
      else if (parsed.kind === 'admin') admin = true;
    }
    return new ScopeSet(scopes, admin);
  }

  /** True when some scope gives `perm` on `type` (a `*` scope covers every type). */
  allows(type: string, perm: Permission): boolean {
    return this.scopes.some((s) => (s.type === '*' || s.type === type) && s.perms.includes(perm));
  }

  /** True when the client may read and search `type`, as a bulk export of it does. */
  canRead(type: string): boolean {
    return this.allows(type, 'r') && this.allows(type, 's');
  }

  /** The types the client may export: `*` when wildcard scopes give read and search, else by name. */
  readableTypes(): readonly string[] | '*' {
    if (this.canRead('*')) return '*';
    const named = new Set(this.scopes.map((s) => s.type).filter((t) => t !== '*'));
    return [...named].filter((t) => this.canRead(t)).sort();
  }

  /** The scopes as a space-separated string. */
  toString(): string {
    return [...this.scopes.map(formatScope), ...(this.admin ? [ADMIN_SCOPE] : [])].join(' ');
  }
}
