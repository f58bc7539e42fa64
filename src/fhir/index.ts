// The FHIR R4 knowledge layer: no I/O and no imports from other fhirhose layers.
export * from './errors.js';
export * from './resource.js';
export * from './instant.js';
export * from './operation-outcome.js';
