import { LocalDirStorage } from './local-dir.js';
import { S3Storage } from './s3-storage.js';
import type { FileStorage, StorageConfig } from './types.js';

/** Build the storage a config describes (worker threads call this with their `workerData`). */
export function createStorage(config: StorageConfig): FileStorage {
  return config.kind === 's3' ? new S3Storage(config) : new LocalDirStorage(config.root);
}
