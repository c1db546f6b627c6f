// Helpers for integration tests: a client for the S3 server started by the global setup.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import type { S3Endpoint } from '../cluster/s3-server.ts';
import { uniqueName } from './cluster.ts';

/** Where the S3 server is and its root credentials, e.g. for a Sink's credentials Secret. */
export function s3Settings(): S3Endpoint {
  return inject('s3');
}

/** A client for the test S3 server; path-style, as versitygw on 127.0.0.1 needs. */
export function s3Client(): S3Client {
  const s3 = inject('s3');
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    forcePathStyle: true,
  });
}

/** Creates a bucket (by default one with a name unique to this run) and returns its name. */
export async function createBucket(name: string = uniqueName('sink')): Promise<string> {
  const client = s3Client();
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
  return name;
}
