// What every destination does with a batch, and how it says a delivery failed.

/** One batch as a destination receives it. */
export interface Delivery {
  /** The batch's identity, the same on every retry: `hs-<cluster>-<sink uid>-<first>-<last>`. */
  id: string;
  firstSeq: number;
  lastSeq: number;
  records: number;
  /** Time of the first record (ms): names the partition of file and S3 destinations. */
  firstTime: number;
  payload: Uint8Array;
}

export type FailureReason =
  /** Not reachable: connection refused or reset, DNS, TLS, or a timeout. */
  | 'unavailable'
  /** The destination answered that it is overloaded or failing (408, 429, 5xx). */
  | 'server-error'
  /** The destination refused this batch (a 4xx other than 408 and 429). */
  | 'refused'
  | 'access-denied'
  | 'not-found'
  /** A local error: the disk is full, the directory cannot be written. */
  | 'io'
  /** Building the batch from the history store failed. */
  | 'export';

export class DeliveryError extends Error {
  override name = 'DeliveryError';
  readonly reason: FailureReason;
  /** A retry of the same request cannot succeed until something changes: retried slowly. */
  readonly permanent: boolean;
  /** The destination asked to wait this long (Retry-After). */
  readonly retryAfterMs: number | null;
  /** True when the destination certainly did not receive the batch (connection never made). */
  readonly notReceived: boolean;

  constructor(
    message: string,
    o: {
      reason: FailureReason;
      permanent?: boolean;
      retryAfterMs?: number | null;
      notReceived?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { cause: o.cause });
    this.reason = o.reason;
    this.permanent = o.permanent ?? false;
    this.retryAfterMs = o.retryAfterMs ?? null;
    this.notReceived = o.notReceived ?? false;
  }
}

export interface Destination {
  /** `json` sends a batch as one JSON array instead of NDJSON. */
  readonly format: 'ndjson' | 'json';
  readonly gzip: boolean;
  /**
   * Whether a retry must send the very bytes of the first attempt (kept in the store with the
   * plan) rather than the batch encoded again from history.
   */
  readonly keepsPayload: boolean;
  /** Where it delivers, for logs and status. */
  readonly describe: string;
  /** Resolves once the destination acknowledged the batch; throws DeliveryError otherwise. */
  send(d: Delivery, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The exporter a batch belongs to (`hs-<cluster>-<sink uid>`): its identity without the range. */
export function batchOwner(id: string): string {
  return id.replace(/-\d+-\d+$/, '');
}

/** Sequence numbers in names are zero-padded, so names sort in sequence order. */
export function seqName(n: number): string {
  return String(n).padStart(12, '0');
}

/** `dt=YYYY-MM-DD/hour=HH` of a time, in UTC: hive partitioning. */
export function partition(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

/** The object (file) name of a batch, under its partition. */
export function batchPath(d: Pick<Delivery, 'firstSeq' | 'lastSeq' | 'firstTime'>): string {
  return `${partition(d.firstTime)}/${seqName(d.firstSeq)}-${seqName(d.lastSeq)}.ndjson.gz`;
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}
