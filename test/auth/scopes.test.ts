import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_SCOPE, OAuthError, ScopeSet, grantScopes, parseScope } from '../../src/auth/index.js';

describe('parseScope', () => {
  test('reads SMART v1 scopes as their v2 permissions', () => {
    assert.deepEqual(parseScope('system/*.read'), {
      kind: 'system',
      scope: { type: '*', perms: 'rs', syntax: 'v1' },
    });
    assert.deepEqual(parseScope('system/Patient.write'), {
      kind: 'system',
      scope: { type: 'Patient', perms: 'cud', syntax: 'v1' },
    });
    assert.deepEqual(parseScope('system/*.*'), {
      kind: 'system',
      scope: { type: '*', perms: 'cruds', syntax: 'v1' },
    });
  });

  test('reads SMART v2 scopes with ordered permissions', () => {
    assert.deepEqual(parseScope('system/Observation.rs'), {
      kind: 'system',
      scope: { type: 'Observation', perms: 'rs', syntax: 'v2' },
    });
    assert.equal(parseScope('system/*.cruds').kind, 'system');
  });

  test('rejects out-of-order or unknown permissions', () => {
    assert.equal(parseScope('system/*.sr').kind, 'invalid');
    assert.equal(parseScope('system/*.dus').kind, 'invalid');
    assert.equal(parseScope('system/*.rx').kind, 'invalid');
  });

  test('rejects unknown resource types and granular scopes', () => {
    assert.equal(parseScope('system/Nonsense.rs').kind, 'invalid');
    assert.equal(parseScope('system/Observation.rs?category=laboratory').kind, 'invalid');
  });

  test('treats non-system scopes as other', () => {
    assert.equal(parseScope('openid').kind, 'other');
    assert.equal(parseScope('patient/*.read').kind, 'other');
  });
});

describe('ScopeSet', () => {
  test('a wildcard covers every type, including ones named nowhere', () => {
    const set = ScopeSet.parse('system/*.rs');
    assert.ok(set.canRead('Observation'));
    assert.equal(set.readableTypes(), '*');
    assert.ok(!set.allows('Observation', 'c'));
  });

  test('per-type scopes list their readable types', () => {
    const set = ScopeSet.parse('system/Patient.read system/Observation.r system/Group.rs');
    assert.deepEqual(set.readableTypes(), ['Group', 'Patient']);
    assert.ok(!set.canRead('Observation'), 'read without search is not enough for an export');
  });

  test('read and search may come from different scopes', () => {
    const set = ScopeSet.parse('system/Observation.r system/*.s');
    assert.ok(set.canRead('Observation'));
    assert.deepEqual(set.readableTypes(), ['Observation']);
  });

  test('drops scopes it does not grant', () => {
    assert.equal(ScopeSet.parse('openid system/Patient.rs launch').toString(), 'system/Patient.rs');
  });
});

describe('grantScopes', () => {
  const registered = ScopeSet.parse('system/*.rs');

  test('grants a v1 request in v1 syntax', () => {
    assert.equal(grantScopes('system/*.read', registered), 'system/*.read');
  });

  test('narrows permissions to the pre-authorized ones', () => {
    assert.equal(grantScopes('system/*.cruds', registered), 'system/*.rs');
    assert.equal(grantScopes('system/*.*', registered), 'system/*.read', 'v1 in, v1 out');
  });

  test('narrows a wildcard request to the pre-authorized types', () => {
    const perType = ScopeSet.parse('system/Patient.rs system/Observation.rs');
    assert.equal(grantScopes('system/*.read', perType), 'system/Patient.read system/Observation.read');
  });

  test('grants part of a request and drops non-system scopes', () => {
    const perType = ScopeSet.parse('system/Patient.rs');
    assert.equal(grantScopes('openid system/Patient.rs system/Condition.rs', perType), 'system/Patient.rs');
  });

  test('leaves out a per-type scope a granted wildcard already covers', () => {
    assert.equal(grantScopes('system/*.rs system/Patient.rs', registered), 'system/*.rs');
  });

  test('refuses with invalid_scope when nothing can be granted', () => {
    const perType = ScopeSet.parse('system/Patient.rs');
    assert.throws(
      () => grantScopes('system/Observation.rs', perType),
      (err: unknown) => {
        assert.ok(err instanceof OAuthError);
        assert.equal(err.error, 'invalid_scope');
        assert.equal(err.code, 'FHIRHOSE_ERR_OAUTH');
        return true;
      },
    );
    assert.throws(() => grantScopes('', registered), { error: 'invalid_scope' });
    assert.throws(() => grantScopes('system/*.c', registered), { error: 'invalid_scope' });
  });
});

describe('the operator scope system/fhirhose.admin', () => {
  test('parses as the admin scope, not as an unknown resource type', () => {
    assert.deepEqual(parseScope(ADMIN_SCOPE), { kind: 'admin' });
    assert.equal(parseScope('system/fhirhose.read').kind, 'invalid');
  });

  test('a ScopeSet records it apart from the resource scopes, and grants no resource access', () => {
    const set = ScopeSet.parse(`${ADMIN_SCOPE}`);
    assert.equal(set.admin, true);
    assert.deepEqual(set.readableTypes(), []);
    assert.equal(ScopeSet.parse('system/*.rs').admin, false);
    assert.equal(ScopeSet.parse(`system/*.rs ${ADMIN_SCOPE}`).toString(), `system/*.rs ${ADMIN_SCOPE}`);
  });

  test('is granted only to a client registered with it', () => {
    const admin = ScopeSet.parse(`system/*.rs ${ADMIN_SCOPE}`);
    assert.equal(grantScopes(`system/*.rs ${ADMIN_SCOPE}`, admin), `system/*.rs ${ADMIN_SCOPE}`);
    assert.equal(grantScopes(ADMIN_SCOPE, admin), ADMIN_SCOPE);
    const plain = ScopeSet.parse('system/*.rs');
    assert.equal(grantScopes(`system/*.rs ${ADMIN_SCOPE}`, plain), 'system/*.rs');
    assert.throws(
      () => grantScopes(ADMIN_SCOPE, plain),
      (err: unknown) => err instanceof OAuthError,
    );
  });
});
