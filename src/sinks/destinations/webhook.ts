// The webhook destination: one POST per batch, NDJSON (application/x-ndjson) or a JSON array.
// Each request carries the batch's identity as Idempotency-Key and as the Standard Webhooks
// webhook-id, with webhook-timestamp and, given a signing secret, webhook-signature
// (v1,<base64 HMAC-SHA256 of "id.timestamp.body">). A 2xx acknowledges; 408, 429 and 5xx are
// retried (after Retry-After when given); any other answer refuses the batch.
import { createHmac } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { Agent, request, errors as undiciErrors } from 'undici';
import { DeliveryError, parseRetryAfter, type Delivery, type Destination } from '../destination.ts';

export interface WebhookOptions {
  url: string;
  format: 'ndjson' | 'json';
  /** Sent with every request. */
  headers: Record<string, string>;
  /** The Standard Webhooks secret (`whsec_` + base64, or raw text). */
  signingSecret: string | null;
  caBundle: string | null;
  timeoutMs: number;
  now?: () => number;
}

/** The key bytes of a Standard Webhooks secret. */
export function signingKey(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** `v1,<signature>` of a request, as Standard Webhooks defines it. */
export function sign(key: Buffer, id: string, timestamp: number, body: Uint8Array): string {
  const mac = createHmac('sha256', key);
  mac.update(`${id}.${timestamp}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

export class WebhookDestination implements Destination {
  readonly format: 'ndjson' | 'json';
  readonly gzip = false;
  readonly keepsPayload = true;
  readonly describe: string;
  private readonly o: WebhookOptions;
  private readonly agent: Agent;
  private readonly key: Buffer | null;

  constructor(o: WebhookOptions) {
    this.o = o;
    this.format = o.format;
    this.describe = `webhook ${new URL(o.url).origin}`;
    this.key = o.signingSecret === null ? null : signingKey(o.signingSecret);
    this.agent = new Agent({
      // Node's `ca` replaces the trusted roots: the bundle is added to them, not instead.
      connect: o.caBundle ? { ca: [...rootCertificates, o.caBundle] } : {},
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      connectTimeout: Math.min(o.timeoutMs, 10_000),
    });
  }

  async send(d: Delivery, signal: AbortSignal): Promise<void> {
    const timestamp = Math.floor((this.o.now ?? Date.now)() / 1000);
    const headers: Record<string, string> = {
      ...this.o.headers,
      'content-type': this.format === 'json' ? 'application/json' : 'application/x-ndjson',
      'idempotency-key': d.id,
      'webhook-id': d.id,
      'webhook-timestamp': String(timestamp),
      'hindsight-batch-first-seq': String(d.firstSeq),
      'hindsight-batch-last-seq': String(d.lastSeq),
      'hindsight-batch-records': String(d.records),
    };
    if (this.key) headers['webhook-signature'] = sign(this.key, d.id, timestamp, d.payload);
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    let res;
    try {
      res = await request(this.o.url, {
        method: 'POST',
        headers,
        body: d.payload,
        dispatcher: this.agent,
        signal: AbortSignal.any([signal, timeout]),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const code =
        e.code ?? (e.cause as NodeJS.ErrnoException | undefined)?.code ?? e.name ?? 'error';
      const timedOut =
        timeout.aborted ||
        err instanceof undiciErrors.HeadersTimeoutError ||
        err instanceof undiciErrors.BodyTimeoutError;
      throw new DeliveryError(
        timedOut
          ? `${this.describe} did not answer within ${this.o.timeoutMs} ms`
          : `${this.describe} is unreachable (${code})`,
        { reason: 'unavailable', notReceived: CONNECT_CODES.has(code), cause: err },
      );
    }
    const text = (await res.body.text().catch(() => '')).slice(0, 200).trim();
    const status = res.statusCode;
    if (status >= 200 && status < 300) return;
    const answer = `${this.describe} answered ${status}${text ? `: ${text}` : ''}`;
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfter = res.headers['retry-after'];
      throw new DeliveryError(answer, {
        reason: 'server-error',
        retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
        // 429 and 503 say the request was not processed.
        notReceived: status === 429 || status === 503,
      });
    }
    throw new DeliveryError(answer, {
      reason: status === 401 || status === 403 ? 'access-denied' : 'refused',
      permanent: true,
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
