import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { JWK } from 'jose';
import type { AuthStore, SigningKeyRecord } from '../store/index.js';

/** The algorithm of our own access tokens: RS256 verifies about 9x faster than ES384 (DESIGN.md). */
export const SERVER_TOKEN_ALG = 'RS256';

/** Options of {@link ServerKeys}. */
export interface ServerKeysOptions {
  now?: () => number;
  /** The longest an access token lives: a retired key verifies tokens that long after retirement. */
  maxTokenLifetimeMs: number;
}

type KeyLike = Awaited<ReturnType<typeof importJWK>>;

/** Re-read the keys this often, so a rotation made by another process (`fhirhose keys rotate-server`) is seen. */
const RELOAD_MS = 60_000;
/** An unknown kid re-reads the keys at most this often. */
const UNKNOWN_KID_RELOAD_MS = 5_000;
/** Retired keys are deleted this long after retirement. */
const FORGET_AFTER_MS = 86_400_000;

interface Loaded {
  record: SigningKeyRecord;
  publicKey: KeyLike;
}

/**
 * The keys that sign our access tokens, kept in the store so every server process shares them and a
 * restart keeps issued tokens valid. `rotate` adds a key and retires the others: tokens they signed
 * stay valid until they expire.
 */
export class ServerKeys {
  private readonly now: () => number;
  private keys: Loaded[] = [];
  private signing: { kid: string; key: KeyLike } | undefined;
  private loadedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: Pick<AuthStore, 'listSigningKeys' | 'addSigningKey'>,
    private readonly options: ServerKeysOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The current signing key; the first call on an empty store creates one. */
  async signingKey(): Promise<{ kid: string; key: KeyLike }> {
    if (!this.signing || this.now() - this.loadedAt > RELOAD_MS) await this.load();
    if (!this.signing) await this.rotate();
    return this.signing as { kid: string; key: KeyLike };
  }

  /** Create a new signing key and retire the others. Resolves to the new key id. */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(SERVER_TOKEN_ALG, {
      extractable: true,
      modulusLength: 2048,
    });
    const publicJwk: JWK = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const now = this.now();
    await this.store.addSigningKey(
      {
        kid,
        alg: SERVER_TOKEN_ALG,
        privateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: SERVER_TOKEN_ALG }),
        publicJwk: JSON.stringify({ ...publicJwk, kid, alg: SERVER_TOKEN_ALG, use: 'sig' }),
        createdAt: now,
        retiredAt: null,
      },
      now - FORGET_AFTER_MS,
    );
    await this.load();
    return kid;
  }

  /** The public key for `kid` while tokens it signed can still be valid; undefined otherwise. */
  async verificationKey(kid: string): Promise<KeyLike | undefined> {
    let found = this.keys.find((k) => k.record.kid === kid);
    if (!found && this.now() - this.loadedAt > UNKNOWN_KID_RELOAD_MS) {
      await this.load();
      found = this.keys.find((k) => k.record.kid === kid);
    }
    if (!found) return undefined;
    const retiredAt = found.record.retiredAt;
    const validUntil =
      retiredAt === null ? Infinity : retiredAt + this.options.maxTokenLifetimeMs + RELOAD_MS;
    return this.now() < validUntil ? found.publicKey : undefined;
  }

  private async load(): Promise<void> {
    const records = await this.store.listSigningKeys();
    const keys: Loaded[] = [];
    for (const record of records) {
      const cached = this.keys.find((k) => k.record.kid === record.kid);
      const publicKey =
        cached?.publicKey ?? (await importJWK(JSON.parse(record.publicJwk) as JWK, record.alg));
      keys.push({ record, publicKey });
    }
    this.keys = keys;
    const active = records.find((r) => r.retiredAt === null);
    this.signing = active && {
      kid: active.kid,
      key:
        this.signing?.kid === active.kid
          ? this.signing.key
          : await importJWK(JSON.parse(active.privateJwk) as JWK, active.alg),
    };
    this.loadedAt = this.now();
  }
}
