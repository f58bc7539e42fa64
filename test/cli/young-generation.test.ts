// holdYoungGeneration relies on a V8 flag read at run time: these run a fresh process, so a Node
// upgrade that stops reading it (or starts affecting the export threads) fails here.
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const MODULE = new URL('../../src/cli/young-generation.js', import.meta.url).href;

// Keeps about 2 MB alive at a time, so scavenges see survivors and V8 grows the semi-spaces; then a
// worker with a 4 MB young generation (as export threads have) runs the same churn.
const CHURN = `let keep = []; for (let i = 0; i < 4e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 40000) keep = []; }`;
const NEW_SPACE_MIB = `require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2 ** 20`;
const CHILD = `(async () => {
  if (process.argv[1] === 'hold') (await import(${JSON.stringify(MODULE)})).holdYoungGeneration();
  ${CHURN}
  const main = ${NEW_SPACE_MIB};
  const { Worker } = require('node:worker_threads');
  const code = ${JSON.stringify(`${CHURN}; require('node:worker_threads').parentPort.postMessage(${NEW_SPACE_MIB});`)};
  const worker = new Worker(code, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
  const inWorker = await new Promise((resolve) => worker.once('message', resolve));
  await worker.terminate();
  console.log(JSON.stringify({ main, worker: inWorker }));
})();`;

function newSpaces(mode: 'hold' | 'default'): { main: number; worker: number } {
  const out = execFileSync(process.execPath, ['-e', CHILD, mode], { encoding: 'utf8' });
  return JSON.parse(out) as { main: number; worker: number };
}

test("holdYoungGeneration keeps the main thread's young generation small and the export threads' as set", () => {
  const grown = newSpaces('default');
  const held = newSpaces('hold');
  assert.ok(grown.main > 4, `by default the main thread's new space grows (${grown.main} MiB)`);
  assert.ok(held.main <= 2, `held, it stays at its initial size (${held.main} MiB)`);
  assert.equal(held.worker, grown.worker, 'a thread started at its cap keeps it');
});
