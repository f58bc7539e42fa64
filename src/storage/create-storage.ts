import { LocalDirStorage } from './local-dir.js';
import type { FileStorage, StorageConfig } from './types.js';

/**
 * Build the storage a config describes (worker threads call this with their `workerData`). The S3
 * client is imported only when S3 is configured: the AWS SDK costs about 20 MiB of RSS in every
 * thread that loads it (the server's main thread and each export thread), for nothing with a folder.
 */
export async function createStorage(config: StorageConfig): Promise<FileStorage> {
  if (config.kind !== 's3') return new LocalDirStorage(config.root);
  const { S3Storage } = await import('./s3-storage.js');
  return new S3Storage(config);
}
