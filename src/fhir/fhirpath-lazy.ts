import { createRequire } from 'node:module';
import type Fhirpath from 'fhirpath';
import type R4Model from 'fhirpath/fhir-context/r4';

// fhirpath.js costs about 8 MB of heap and 30 MB of RSS in every thread that loads it, and only
// _typeFilter and REST search need it: load it on first use, through its CommonJS build (sync).
const require = createRequire(import.meta.url);
let engine: typeof Fhirpath | undefined;
let model: typeof R4Model | undefined;

/** The fhirpath.js engine, loaded on first call. */
export function fhirpathEngine(): typeof Fhirpath {
  engine ??= require('fhirpath') as typeof Fhirpath;
  return engine;
}

/** fhirpath.js's R4 model, loaded on first call. */
export function r4Model(): typeof R4Model {
  model ??= require('fhirpath/fhir-context/r4') as typeof R4Model;
  return model;
}
