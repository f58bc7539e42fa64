import type { Command } from 'commander';

/** `fhirhose serve` (placeholder until the server lands). */
export function registerServe(program: Command): void {
  program.command('serve').description('run the FHIR server');
}
