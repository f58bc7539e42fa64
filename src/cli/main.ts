import { Command, CommanderError } from 'commander';
import { registerClients } from './commands/clients.js';
import { registerExport } from './commands/export.js';
import { registerGenerate } from './commands/generate.js';
import { registerKeys } from './commands/keys.js';
import { registerLoad } from './commands/load.js';
import { registerServe } from './commands/serve.js';
import { registerSync } from './commands/sync.js';

/** Build the `fhirhose` command tree. */
export function buildProgram(): Command {
  const program = new Command('fhirhose')
    .description('FHIR Bulk Data Access server and client')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
  registerServe(program);
  registerLoad(program);
  registerGenerate(program);
  registerExport(program);
  registerSync(program);
  registerClients(program);
  registerKeys(program);
  return program;
}

/** Run the CLI with process-style argv; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
