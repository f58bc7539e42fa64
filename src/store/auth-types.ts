/** A registered SMART Backend Services client, as stored. JSON fields are opaque text owned by src/auth. */
export interface ClientRecord {
  id: string;
  name: string;
  /** Registered JWKS URL, or null when the keys are inline. */
  jwksUrl: string | null;
  /** Inline public JWK Set as JSON text, or null when registered by URL. */
  jwks: string | null;
  /** Pre-authorized scopes, space-separated. */
  scope: string;
  createdAt: number;
}

/** A key the server signs its access tokens with. */
export interface SigningKeyRecord {
  kid: string;
  alg: string;
  /** Private JWK as JSON text. */
  privateJwk: string;
  /** Public JWK as JSON text. */
  publicJwk: string;
  createdAt: number;
  /** When a newer key replaced this one; tokens it signed stay valid until they expire. */
  retiredAt: number | null;
}

/** Client registry, server signing keys and the client-assertion replay cache (SMART Backend Services). */
export interface AuthStore {
  addClient(client: ClientRecord): Promise<void>;
  getClient(id: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
  /** False when there was no such client. */
  removeClient(id: string): Promise<boolean>;
  /** Signing keys, newest first. */
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /**
   * Add a signing key; every other key still active is retired at `key.createdAt`, and keys retired
   * before `forgetRetiredBefore` are deleted.
   */
  addSigningKey(key: SigningKeyRecord, forgetRetiredBefore: number): Promise<void>;
  /**
   * Record a client assertion's `jti` until `expiresAt`; false when this client already used it and
   * the record has not expired. Expired records are purged on the way.
   */
  useJti(clientId: string, jti: string, expiresAt: number, now: number): Promise<boolean>;
}
