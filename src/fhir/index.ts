// The FHIR R4 knowledge layer: no I/O and no imports from other fhirhose layers.
export * from './errors.js';
export * from './resource.js';
export * from './instant.js';
export * from './operation-outcome.js';
export * from './resource-types.js';
export * from './references.js';
export * from './compartment.js';
export * from './group.js';
export * from './provenance-targets.js';
export * from './supporting-refs.js';
export * from './type-filter.js';
export * from './type-filter-precheck.js';
export * from './elements.js';
export * from './elements-raw.js';
export * from './resource-check.js';
export * from './attachments.js';
export * from './prefer.js';
export { fhirpathEngine, r4Model } from './fhirpath-lazy.js';
