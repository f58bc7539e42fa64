import { exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import type { ClientEvent, Clock, WaitOptions } from '../../src/client/index.js';

/** Waits small enough for tests; a test that checks Retry-After uses a fake clock instead. */
export const FAST_WAITS: Partial<WaitOptions> = {
  pollBaseMs: 10,
  pollMaxMs: 50,
  maxWaitMs: 50,
  retryBaseMs: 5,
  retries: 4,
  jitter: 0,
};

/** A clock whose sleeps return at once and move its time forward; `sleeps` records each wait. */
export function fakeClock(start = Date.now()): Clock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      now += ms;
      await new Promise((r) => setImmediate(r));
    },
  };
}

/** A key pair as JWKs with a kid: the private one for the client, the public one for the server. */
export async function makeKeys(alg: 'RS384' | 'ES384'): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `test-${alg}`;
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg },
  };
}

/** An event recorder. */
export function recorder(): { events: ClientEvent[]; listener: (e: ClientEvent) => void } {
  const events: ClientEvent[] = [];
  return { events, listener: (e) => events.push(e) };
}

/** NDJSON of `n` resources of a type. */
export function ndjson(type: string, n: number, prefix = type.toLowerCase()): string {
  let out = '';
  for (let i = 0; i < n; i++)
    out += `${JSON.stringify({ resourceType: type, id: `${prefix}-${i}`, text: 'x'.repeat(40) })}\n`;
  return out;
}
