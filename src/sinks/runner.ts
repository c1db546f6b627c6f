// One Sink's delivery loop. History in the store is the queue; the Sink's cursor is its position
// in the global sequence. Each round:
//   1. wait until a batch is due (records behind the head, and maxRecords of them or maxDelay),
//   2. encode it on the encoder thread and commit its plan (range, identity) before sending,
//   3. send it until the destination acknowledges, with jittered backoff forever,
//   4. in one transaction, move the cursor to the batch's end and drop the plan.
// After a crash the committed plan is sent again with the same identity. At most once, the
// cursor moves in step 2's transaction instead, and a failed batch is retried only while it
// certainly was not received.
import type { Logger } from '../log.ts';
import type { SinkStore } from '../store/sinks.ts';
import { DeliveryError, type Delivery, type Destination } from './destination.ts';
import type { EncoderPool } from './encoder-pool.ts';
import type { RecordFilter } from './record.ts';
import { sleep } from '../runtime/sleep.ts';

export interface RunnerConfig {
  uid: string;
  name: string;
  cluster: string;
  filter: RecordFilter;
  maxRecords: number;
  maxBytes: number;
  maxDelayMs: number;
  delivery: 'atLeastOnce' | 'atMostOnce';
  destination: Destination;
}

export interface SinkMetrics {
  delivered(sink: string, records: number, bytes: number): void;
  batch(sink: string, result: 'delivered' | 'failed' | 'dropped'): void;
  failure(sink: string, reason: string): void;
  dropped(sink: string, records: number): void;
  /** Cursor, and how long the oldest record not delivered has waited. */
  position(sink: string, cursor: number, lagSeconds: number): void;
  /** Records behind the head that this Sink exports. */
  pending(sink: string, records: number): void;
  lost(sink: string, records: number): void;
  forget(sink: string): void;
}

export interface RunnerState {
  cursor: number;
  delivered: number;
  lastDeliveryTime: number | null;
  /** The failure of the current batch's last attempt; null once it was delivered. */
  failure: { reason: string; message: string; permanent: boolean; since: number } | null;
  /** Batches delivered by this runner (since it started). */
  batches: number;
}

export interface RunnerDeps {
  store: SinkStore;
  encoder: EncoderPool;
  /** The newest sequence number recorded. */
  head: () => number;
  log: Logger;
  metrics: SinkMetrics;
  /** Called after each delivery or failure, for the status. */
  onChange: () => void;
  now?: () => number;
  /** How often the head is looked at while idle. */
  pollMs?: number;
  random?: () => number;
}

/** Backoff of transient failures: 1 s doubling to 60 s, ±20 % jitter. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;
/**
 * A refused batch (or a missing bucket, refused credentials) needs something outside to change:
 * retried from 5 s doubling to every 5 min.
 */
const REFUSED_RETRY_MIN_MS = 5000;
const REFUSED_RETRY_MS = 5 * 60_000;

export function batchId(cluster: string, uid: string, firstSeq: number, lastSeq: number): string {
  return `hs-${cluster}-${uid}-${firstSeq}-${lastSeq}`;
}

/** The wait before retry `attempt` (1-based) after `err`. */
export function retryDelay(err: DeliveryError, attempt: number, random: () => number): number {
  if (err.retryAfterMs !== null) return Math.min(Math.max(err.retryAfterMs, 0), REFUSED_RETRY_MS);
  const base = err.permanent
    ? Math.min(REFUSED_RETRY_MS, REFUSED_RETRY_MIN_MS * 2 ** Math.max(0, attempt - 1))
    : Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export class SinkRunner {
  private cfg: RunnerConfig;
  private readonly d: RunnerDeps;
  private readonly ctl = new AbortController();
  private loop: Promise<void> | null = null;
  private wake: AbortController = new AbortController();
  private pendingSince: number | null = null;
  private oldestPendingTime: number | null = null;
  readonly state: RunnerState;

  constructor(cfg: RunnerConfig, deps: RunnerDeps) {
    this.cfg = cfg;
    this.d = deps;
    const c = deps.store.cursor(cfg.uid);
    if (!c) throw new Error(`Sink ${cfg.name} has no cursor; position it before starting`);
    this.state = {
      cursor: c.ackedSeq,
      delivered: c.delivered,
      lastDeliveryTime: c.lastTime,
      failure: null,
      batches: 0,
    };
  }

  get config(): RunnerConfig {
    return this.cfg;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Takes effect from the next attempt; a planned batch keeps its range and identity. */
  reconfigure(cfg: RunnerConfig): void {
    const old = this.cfg.destination;
    this.cfg = cfg;
    if (old !== cfg.destination) void old.close();
    this.wake.abort();
  }

  async stop(): Promise<void> {
    this.ctl.abort();
    this.wake.abort();
    await this.loop;
    await this.cfg.destination.close();
  }

  private now(): number {
    return (this.d.now ?? Date.now)();
  }

  /** Sleeps until `ms` passed, the runner stops, or it is reconfigured. */
  private async pause(ms: number): Promise<void> {
    if (this.wake.signal.aborted) this.wake = new AbortController();
    await sleep(ms, AbortSignal.any([this.ctl.signal, this.wake.signal]));
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.ctl.signal.aborted) {
      try {
        const delivered = await this.round();
        failures = 0;
        if (!delivered) await this.pause(this.d.pollMs ?? 200);
      } catch (err) {
        if (this.ctl.signal.aborted) break;
        // Not a destination's answer: the encoder or the store failed. Retried like one.
        failures++;
        const e =
          err instanceof DeliveryError
            ? err
            : new DeliveryError(`building a batch failed: ${(err as Error).message}`, {
                reason: 'export',
                cause: err,
              });
        this.fail(e);
        await this.pause(retryDelay(e, failures, this.d.random ?? Math.random));
      }
    }
  }

  /** One batch, if one is due; true when one was delivered or skipped. */
  private async round(): Promise<boolean> {
    const { store } = this.d;
    const cfg = this.cfg;
    const cursor = store.cursor(cfg.uid);
    if (!cursor) throw new Error(`the cursor of Sink ${cfg.name} is gone`);
    this.state.cursor = cursor.ackedSeq;
    let plan = store.planned(cfg.uid);
    let payload: Uint8Array | null = null;
    if (plan && plan.endSeq <= cursor.ackedSeq) {
      // At most once: handed over before a crash, its fate unknown; never sent again.
      store.ack(cfg.uid, cursor.ackedSeq, 0, null);
      this.d.metrics.batch(cfg.name, 'dropped');
      this.d.metrics.dropped(cfg.name, plan.records);
      plan = undefined;
    }
    if (!plan) {
      const head = this.d.head();
      this.report(head);
      if (head <= cursor.ackedSeq) {
        this.pendingSince = null;
        this.oldestPendingTime = null;
        return false;
      }
      const now = this.now();
      this.pendingSince ??= now;
      if (head - cursor.ackedSeq < cfg.maxRecords && now - this.pendingSince < cfg.maxDelayMs)
        return false;
      const dest = cfg.destination;
      const enc = await this.d.encoder.batch(
        {
          after: cursor.ackedSeq,
          hi: head,
          filter: cfg.filter,
          cluster: cfg.cluster,
          maxRecords: cfg.maxRecords,
          maxBytes: cfg.maxBytes,
        },
        dest.format,
        dest.gzip,
      );
      if (enc.records === 0) {
        store.skip(cfg.uid, enc.end);
        this.state.cursor = enc.end;
        if (enc.end >= head) this.pendingSince = null;
        return true;
      }
      this.oldestPendingTime = enc.firstTime;
      const p = {
        afterSeq: cursor.ackedSeq,
        endSeq: enc.end,
        firstSeq: enc.firstSeq,
        lastSeq: enc.lastSeq,
        records: enc.records,
        firstTime: enc.firstTime,
        payload: dest.keepsPayload ? Buffer.from(enc.payload) : null,
        plannedAt: now,
      };
      if (cfg.delivery === 'atMostOnce') {
        // The cursor moves with the plan: after a crash this batch is not sent again.
        store.planAndAck(cfg.uid, p);
      } else store.plan(cfg.uid, p);
      plan = { ...p, attempts: 0 };
      payload = enc.payload;
    }
    if (payload === null) {
      payload =
        plan.payload ??
        (
          await this.d.encoder.batch(
            {
              after: plan.afterSeq,
              hi: plan.endSeq,
              filter: cfg.filter,
              cluster: cfg.cluster,
              maxRecords: Number.MAX_SAFE_INTEGER,
              maxBytes: Number.MAX_SAFE_INTEGER,
            },
            cfg.destination.format,
            cfg.destination.gzip,
          )
        ).payload;
      this.oldestPendingTime = plan.firstTime;
    }
    await this.deliver(
      {
        id: batchId(cfg.cluster, cfg.uid, plan.firstSeq, plan.lastSeq),
        firstSeq: plan.firstSeq,
        lastSeq: plan.lastSeq,
        records: plan.records,
        firstTime: plan.firstTime,
        payload,
      },
      plan.endSeq,
    );
    this.pendingSince = null;
    return true;
  }

  /** Sends until acknowledged (or, at most once, until it may have been received). */
  private async deliver(batch: Delivery, endSeq: number): Promise<void> {
    const { store, metrics } = this.d;
    let attempt = 0;
    for (;;) {
      const cfg = this.cfg;
      attempt++;
      store.attempt(cfg.uid);
      try {
        await cfg.destination.send(batch, this.ctl.signal);
      } catch (err) {
        if (this.ctl.signal.aborted) throw err;
        const e =
          err instanceof DeliveryError
            ? err
            : new DeliveryError((err as Error).message, { reason: 'unavailable', cause: err });
        this.fail(e);
        metrics.batch(cfg.name, 'failed');
        if (cfg.delivery === 'atMostOnce' && !e.notReceived) {
          // It may have arrived: sending it again could duplicate it.
          store.ack(cfg.uid, endSeq, 0, null);
          metrics.batch(cfg.name, 'dropped');
          metrics.dropped(cfg.name, batch.records);
          this.d.log.warn(
            'Dropped a batch that may not have been delivered (delivery: atMostOnce)',
            {
              sink: cfg.name,
              firstSeq: batch.firstSeq,
              lastSeq: batch.lastSeq,
              error: e.message,
            },
          );
          return;
        }
        const wait = retryDelay(e, attempt, this.d.random ?? Math.random);
        this.d.log.warn('Delivery failed; retrying the same batch', {
          sink: cfg.name,
          destination: cfg.destination.describe,
          batch: batch.id,
          attempt,
          error: e.message,
          retryInMs: wait,
        });
        await this.pause(wait);
        if (this.ctl.signal.aborted) throw e;
        continue;
      }
      const now = this.now();
      store.ack(cfg.uid, endSeq, batch.records, now);
      metrics.delivered(cfg.name, batch.records, batch.payload.length);
      metrics.batch(cfg.name, 'delivered');
      this.state.cursor = endSeq;
      this.state.delivered += batch.records;
      this.state.lastDeliveryTime = now;
      this.state.failure = null;
      this.state.batches++;
      this.oldestPendingTime = null;
      this.report(this.d.head());
      this.d.onChange();
      return;
    }
  }

  private fail(e: DeliveryError): void {
    const prev = this.state.failure;
    this.state.failure = {
      reason: e.reason,
      message: e.message,
      permanent: e.permanent,
      since: prev?.since ?? this.now(),
    };
    this.d.metrics.failure(this.cfg.name, e.reason);
    this.d.onChange();
  }

  private report(head: number): void {
    const lagRecords = Math.max(0, head - this.state.cursor);
    const lagSeconds =
      lagRecords > 0 && this.oldestPendingTime !== null
        ? Math.max(0, (this.now() - this.oldestPendingTime) / 1000)
        : lagRecords > 0 && this.pendingSince !== null
          ? (this.now() - this.pendingSince) / 1000
          : 0;
    this.d.metrics.position(this.cfg.name, this.state.cursor, lagSeconds);
  }
}
