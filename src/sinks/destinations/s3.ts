// The S3 destination (AWS or any S3-compatible store): one gzip'd NDJSON object per batch at
// <prefix>/dt=YYYY-MM-DD/hour=HH/<first-seq>-<last-seq>.ndjson.gz, put with If-None-Match: *.
// The key is the batch's identity, so a batch replayed after a crash or a lost answer is refused
// with 412 by the copy already there, which counts as delivered: never a second object.
import {
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  batchOwner,
  batchPath,
  DeliveryError,
  type Delivery,
  type Destination,
} from '../destination.ts';

export interface S3Options {
  bucket: string;
  prefix: string;
  endpoint: string | null;
  region: string;
  forcePathStyle: boolean;
  /** Null: the pod's ambient credentials (environment, web identity, instance metadata). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
  timeoutMs: number;
}

export function objectKey(prefix: string, d: Pick<Delivery, 'firstSeq' | 'lastSeq' | 'firstTime'>) {
  return prefix ? `${prefix}/${batchPath(d)}` : batchPath(d);
}

export class S3Destination implements Destination {
  readonly format = 'ndjson' as const;
  readonly gzip = true;
  readonly keepsPayload = false;
  readonly describe: string;
  private readonly o: S3Options;
  private readonly client: S3Client;

  constructor(o: S3Options) {
    this.o = o;
    this.describe = `s3://${o.bucket}${o.prefix ? `/${o.prefix}` : ''}`;
    this.client = new S3Client({
      region: o.region,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.forcePathStyle,
      ...(o.credentials ? { credentials: o.credentials } : {}),
      // The runner retries, forever and with its own backoff.
      maxAttempts: 1,
    });
  }

  async send(d: Delivery, signal: AbortSignal): Promise<void> {
    const key = objectKey(this.o.prefix, d);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.o.bucket,
          Key: key,
          Body: d.payload,
          ContentType: 'application/x-ndjson',
          IfNoneMatch: '*',
          Metadata: {
            'hindsight-batch': d.id,
            'hindsight-records': String(d.records),
          },
        }),
        { abortSignal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]) },
      );
    } catch (err) {
      const failure = this.failure(err, key);
      if (failure) throw failure;
      await this.checkSameBatch(key, d, signal);
    }
  }

  /**
   * The key was taken: by this batch (a replay, delivered) or by another exporter's with the same
   * range (another Sink or cluster writing to the prefix), which must not pass for delivered.
   */
  private async checkSameBatch(key: string, d: Delivery, signal: AbortSignal): Promise<void> {
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: key }), {
        abortSignal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]),
      });
    } catch (err) {
      throw (
        this.failure(err, key) ?? new DeliveryError(`HEAD ${key} failed`, { reason: 'unavailable' })
      );
    }
    const owner = head.Metadata?.['hindsight-batch'];
    if (owner === undefined || batchOwner(owner) !== batchOwner(d.id))
      throw new DeliveryError(
        `${this.describe}/${key} exists and holds ${owner ? `batch ${owner}` : 'an object Hindsight did not write'}; give each Sink and cluster a prefix of its own`,
        { reason: 'refused', permanent: true, notReceived: true },
      );
  }

  /** 412 (the object exists) is success and returns null; anything else a DeliveryError. */
  private failure(err: unknown, key: string): DeliveryError | null {
    const where = `${this.describe}/${key.slice(this.o.prefix ? this.o.prefix.length + 1 : 0)}`;
    if (err instanceof S3ServiceException) {
      const status = err.$metadata.httpStatusCode ?? 0;
      const what = `${err.name}${err.message && err.message !== err.name ? `: ${err.message}` : ''}`;
      // Put before: by a first attempt whose answer was lost, or before a crash.
      if (status === 412 || err.name === 'PreconditionFailed') return null;
      if (err.name === 'NoSuchBucket')
        return new DeliveryError(`bucket ${this.o.bucket} does not exist (${what})`, {
          reason: 'not-found',
          permanent: true,
          notReceived: true,
        });
      if (status === 401 || status === 403)
        return new DeliveryError(`${this.describe} refused the credentials (${status} ${what})`, {
          reason: 'access-denied',
          permanent: true,
          notReceived: true,
        });
      if (status === 408 || status === 429 || status >= 500)
        return new DeliveryError(`${where} failed (${status} ${what})`, {
          reason: 'server-error',
          notReceived: status === 503 || status === 429,
        });
      return new DeliveryError(`${where} was refused (${status} ${what})`, {
        reason: 'refused',
        permanent: true,
      });
    }
    const e = err as NodeJS.ErrnoException;
    const code = e.code ?? e.name ?? 'error';
    return new DeliveryError(`${this.describe} is unreachable (${code}: ${e.message})`, {
      reason: 'unavailable',
      notReceived: code === 'ECONNREFUSED' || code === 'ENOTFOUND',
      cause: err,
    });
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}
