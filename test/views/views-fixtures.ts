/** Three worked views (the ones docs/views.md shows) used by the views tests. */
export const PATIENT_DEMOGRAPHICS = {
  resourceType: 'ViewDefinition',
  name: 'patient_demographics',
  resource: 'Patient',
  status: 'active',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'gender', path: 'gender', type: 'code' },
        { name: 'birth_date', path: 'birthDate', type: 'date' },
        { name: 'active', path: 'active', type: 'boolean' },
        {
          name: 'mrn',
          path: "identifier.where(system = 'https://fhirhose.example/id/mrn').value.first()",
          type: 'string',
        },
        { name: 'phone', path: "telecom.where(system = 'phone').value.first()", type: 'string' },
        {
          name: 'birth_sex',
          path: "extension('http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex').value.ofType(code)",
          type: 'code',
        },
      ],
    },
    {
      forEachOrNull: "name.where(use = 'official').first()",
      column: [
        { name: 'family', path: 'family', type: 'string' },
        { name: 'given', path: "given.join(' ')", type: 'string' },
      ],
    },
  ],
};

export const BLOOD_PRESSURE = {
  resourceType: 'ViewDefinition',
  name: 'blood_pressure',
  resource: 'Observation',
  status: 'active',
  constant: [
    { name: 'systolic', valueCode: '8480-6' },
    { name: 'diastolic', valueCode: '8462-4' },
  ],
  where: [{ path: "code.coding.exists(system = 'http://loinc.org' and code = '85354-9')" }],
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'patient_id', path: 'subject.getReferenceKey(Patient)', type: 'id' },
        { name: 'encounter_id', path: 'encounter.getReferenceKey(Encounter)', type: 'id' },
        { name: 'effective', path: 'effective.ofType(dateTime)', type: 'dateTime' },
      ],
    },
    {
      forEach: 'component.where(code.coding.code = %systolic).first()',
      column: [
        { name: 'sbp', path: 'value.ofType(Quantity).value', type: 'decimal' },
        { name: 'sbp_unit', path: 'value.ofType(Quantity).code', type: 'code' },
      ],
    },
    {
      forEach: 'component.where(code.coding.code = %diastolic).first()',
      column: [{ name: 'dbp', path: 'value.ofType(Quantity).value', type: 'decimal' }],
    },
  ],
};

export const CONDITION_CODES = {
  resourceType: 'ViewDefinition',
  name: 'condition_codes',
  resource: 'Condition',
  status: 'active',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'patient_id', path: 'subject.getReferenceKey(Patient)', type: 'id' },
        { name: 'clinical_status', path: 'clinicalStatus.coding.code.first()', type: 'code' },
        { name: 'onset', path: 'onset.ofType(dateTime)', type: 'dateTime' },
      ],
    },
    {
      forEach: 'code.coding',
      column: [
        { name: 'system', path: 'system', type: 'uri' },
        { name: 'code', path: 'code', type: 'code' },
        { name: 'display', path: 'display', type: 'string' },
      ],
    },
  ],
};
