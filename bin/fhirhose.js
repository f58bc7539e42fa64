#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import { main } from '../dist/src/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // The cause says why (a refused connection, a missing file); neither message holds a password.
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    console.error(err instanceof Error ? `${err.message}${cause}` : err);
    process.exitCode = 1;
  },
);
