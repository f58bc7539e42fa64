// Deterministic synthetic FHIR R4 data for tests, benchmarks and demos.
export {
  estimateResources,
  generateResources,
  patientsForResources,
  MAX_PATIENTS,
  RESOURCES_PER_PATIENT,
} from './generate.js';
export type { GenerateOptions } from './generate.js';
export { writeGenerated } from './write.js';
export type { WriteGeneratedOptions, WriteGeneratedResult } from './write.js';
