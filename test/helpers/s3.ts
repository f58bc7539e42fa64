import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { S3StorageConfig } from '../../src/storage/index.js';
import { tempDir } from './temp.js';

/** One request s3rver received. */
export interface S3Request {
  method: string;
  path: string;
  /** The query string, with its `?` when not empty. */
  query: string;
  /** The Authorization header, if the request carried one. */
  authorization?: string;
  /** True when the request carried SigV4 query parameters (a pre-signed URL). */
  presigned: boolean;
}

/** A real S3-compatible server (s3rver) on loopback, with one bucket. */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** Every request received, in order. */
  requests: S3Request[];
  /** Storage settings for a key prefix in the bucket (s3rver accepts these fixed credentials). */
  config(prefix?: string): S3StorageConfig;
  /** The environment `loadServeConfig` reads for this server. */
  env: Record<string, string>;
  /** Keys in the bucket under a prefix. */
  keys(prefix?: string): Promise<string[]>;
}

/** Start s3rver on a free loopback port with a temp folder; it stops when the test (or suite) ends. */
export async function startS3(t: { after: (fn: () => Promise<void> | void) => void }): Promise<TestS3> {
  const bucket = 'fhirhose-test';
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: tempDir(t),
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  const address = await server.run();
  const requests: S3Request[] = [];
  // A second 'request' listener sees every request koa handles, without changing s3rver.
  server.httpServer.on('request', (req) => {
    const url = new URL(req.url ?? '/', 'http://s3');
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.search,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      presigned: url.searchParams.has('X-Amz-Signature'),
    });
  });
  const endpoint = `http://127.0.0.1:${address.port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  t.after(async () => {
    client.destroy();
    await server.close();
  });
  return {
    endpoint,
    bucket,
    requests,
    config: (prefix = '') => ({
      kind: 's3',
      bucket,
      prefix,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials,
    }),
    env: {
      FHIRHOSE_S3_ENDPOINT: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    async keys(prefix = '') {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out.sort();
    },
  };
}
