import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequestError, UnprocessableResourceError } from '../../src/fhir/index.js';
import { statusOf } from '../../src/server/index.js';
import { InvalidViewDefinitionError, ViewEvaluationError, createViewRunner } from '../../src/views/index.js';

const COLUMN = { name: 'id', path: 'id', type: 'id' };

function view(extra: Record<string, unknown>): Record<string, unknown> {
  return { resource: 'Patient', select: [{ column: [COLUMN] }], ...extra };
}

/** Asserts that compiling `v` fails with InvalidViewDefinitionError at `expression`, saying `message`. */
function rejects(v: unknown, expression: string, message: RegExp): void {
  assert.throws(
    () => createViewRunner(v),
    (e: unknown) => {
      assert.ok(e instanceof InvalidViewDefinitionError, String(e));
      assert.equal(e.code, 'FHIRHOSE_ERR_INVALID_VIEW');
      assert.equal(e.issueCode, 'invalid');
      assert.equal(e.expression, expression);
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('ViewDefinition validation', () => {
  test('rejects a view that is not an object', () => {
    rejects([], 'ViewDefinition', /JSON object/);
    rejects(null, 'ViewDefinition', /JSON object/);
  });

  test('rejects a missing or unknown resource type', () => {
    rejects({ select: [{ column: [COLUMN] }] }, 'resource', /resource is required/);
    rejects(view({ resource: 'Patients' }), 'resource', /Patients is not an R4 resource type/);
  });

  test('rejects a missing or empty select', () => {
    rejects({ resource: 'Patient' }, 'select', /select must be an array/);
    rejects(view({ select: [] }), 'select', /must not be empty/);
  });

  test('names the column whose name breaks the sql-name rule', () => {
    rejects(
      view({ select: [{ column: [COLUMN, { name: '2nd', path: 'id' }] }] }),
      'select[0].column[1].name',
      /letters, digits/,
    );
  });

  test('names a column whose type is not a FHIR type', () => {
    rejects(
      view({ select: [{ column: [{ ...COLUMN, type: 'text' }] }] }),
      'select[0].column[0].type',
      /text is not a FHIR type/,
    );
    rejects(
      view({ select: [{ column: [{ ...COLUMN, type: 3 }] }] }),
      'select[0].column[0].type',
      /must be a string/,
    );
    for (const type of [
      'dateTime',
      'Quantity',
      'Observation.referenceRange',
      `http://hl7.org/fhir/StructureDefinition/id`,
    ]) {
      assert.doesNotThrow(
        () => createViewRunner(view({ select: [{ column: [{ ...COLUMN, type }] }] })),
        type,
      );
    }
    rejects(
      view({ select: [{ column: [{ ...COLUMN, type: 'http://hl7.org/fhir/StructureDefinition/nosuch' }] }] }),
      'select[0].column[0].type',
      /nosuch is not a FHIR type/,
    );
  });

  test('names a column defined twice, even in different selects', () => {
    rejects(
      view({ select: [{ column: [COLUMN] }, { forEach: 'name', column: [COLUMN] }] }),
      'id',
      /column id is defined twice/,
    );
  });

  test('rejects a path that is not a string or does not parse, naming it', () => {
    rejects(view({ select: [{ forEach: 1 }] }), 'select[0].forEach', /FHIRPath string/);
    rejects(
      view({ select: [{ column: [COLUMN], select: [{ column: [{ name: 'x', path: 'name.(' }] }] }] }),
      'select[0].select[0].column[0].path',
      /not a valid FHIRPath expression: name\.\(/,
    );
  });

  test('rejects a selection with both forEach and forEachOrNull', () => {
    rejects(
      view({ select: [{ forEach: 'name', forEachOrNull: 'name', column: [COLUMN] }] }),
      'select[0]',
      /more than one of forEach, forEachOrNull/,
    );
  });

  test('rejects unionAll branches whose columns differ in name or order', () => {
    const branch = (...names: string[]) => ({ column: names.map((name) => ({ name, path: 'id' })) });
    rejects(
      view({ select: [{ unionAll: [branch('a', 'b'), branch('b', 'a')] }] }),
      'select[0].unionAll[1]',
      /\(b, a\) unlike unionAll\[0\] \(a, b\)/,
    );
  });

  test('rejects an undefined constant where it is used', () => {
    rejects(
      view({ where: [{ path: 'name.where(use = %nope).exists()' }] }),
      'where[0].path',
      /undefined constant %nope/,
    );
  });

  test('rejects a constant without exactly one value, or with a value of the wrong type', () => {
    rejects(view({ constant: [{ name: 'c' }] }), 'constant[0]', /exactly one value\[x\]/);
    rejects(
      view({ constant: [{ name: 'c', valueInteger: '1' }] }),
      'constant[0].valueInteger',
      /not a valid Integer/,
    );
    rejects(
      view({ constant: [{ name: 'c', valueDate: "2020'" }] }),
      'constant[0].valueDate',
      /not a valid Date/,
    );
  });

  test('answers 400 for an invalid view and 422 for one that fails on data', () => {
    assert.ok(new InvalidViewDefinitionError('x') instanceof InvalidRequestError);
    assert.ok(new ViewEvaluationError('x') instanceof UnprocessableResourceError);
    assert.equal(statusOf(new InvalidViewDefinitionError('x')), 400);
    assert.equal(statusOf(new ViewEvaluationError('x')), 422);
  });
});

describe('ViewDefinition evaluation errors', () => {
  const patient = { resourceType: 'Patient', id: 'p', name: [{ family: 'A' }, { family: 'B' }] };

  test('names the column that gave several values without collection: true', () => {
    const runner = createViewRunner(
      view({ select: [{ column: [{ name: 'family', path: 'name.family' }] }] }),
    );
    assert.throws(() => runner.rows(patient), {
      code: 'FHIRHOSE_ERR_VIEW_EVALUATION',
      expression: 'select[0].column[0]',
      message: /column family gave 2 values/,
    });
  });

  test('names the where path that gave a non-boolean', () => {
    const runner = createViewRunner(view({ where: [{ path: 'name.family.first()' }] }));
    assert.throws(() => runner.rows(patient), {
      code: 'FHIRHOSE_ERR_VIEW_EVALUATION',
      expression: 'where[0].path',
    });
  });
});

describe('constants', () => {
  test('substitutes typed literals but leaves %name inside strings alone', () => {
    const runner = createViewRunner(
      view({
        constant: [
          { name: 'fam', valueString: "O'Brien" },
          { name: 'born', valueDate: '1970-06' },
          { name: 'n', valueDecimal: 2 },
        ],
        select: [
          {
            column: [
              { name: 'is_fam', path: 'name.family.first() = %fam' },
              { name: 'text', path: "'%fam'" },
              { name: 'born_match', path: 'birthDate = %born' },
              { name: 'half', path: '%n / 4' },
            ],
          },
        ],
      }),
    );
    const rows = runner.rows({
      resourceType: 'Patient',
      name: [{ family: "O'Brien" }],
      birthDate: '1970-06',
    });
    assert.deepEqual(rows, [{ is_fam: true, text: '%fam', born_match: true, half: 0.5 }]);
  });
});
