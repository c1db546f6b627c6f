// Keeps the rollouts table up to date in the operator: every second it reads the records after
// its cursor (the encoder thread rebuilds their states, as for Sinks) and applies them to the
// derivation in one transaction with the new cursor, so a restart neither skips nor repeats one.
import type { Logger } from '../log.ts';
import { sleep } from '../runtime/sleep.ts';
import type { EncoderPool } from '../sinks/encoder-pool.ts';
import type { ExportRecord, RecordFilter } from '../sinks/record.ts';
import type { RolloutStore } from '../store/rollouts.ts';
import { DERIVED_FROM, RolloutDeriver } from './derive.ts';

const FILTER: RecordFilter = {
  changes: true,
  events: true,
  gaps: false,
  namespaces: null,
  exclude: [],
  kinds: DERIVED_FROM,
  policies: null,
};
/** Records per step: bounded, so one step never holds the writer for long. */
const STEP_RECORDS = 2000;

export interface RolloutRecorderOptions {
  store: RolloutStore;
  encoder: EncoderPool;
  head: () => number;
  log: Logger;
  intervalMs?: number;
}

export class RolloutRecorder {
  private readonly o: RolloutRecorderOptions;
  private readonly deriver: RolloutDeriver;
  private readonly stopCtl = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(o: RolloutRecorderOptions) {
    this.o = o;
    this.deriver = new RolloutDeriver(o.store);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    await this.loop;
  }

  /** Applies everything recorded up to the head; resolves when caught up. */
  async catchUp(): Promise<void> {
    const head = this.o.head();
    while (this.o.store.cursor() < head && !this.stopCtl.signal.aborted) {
      await this.step(head);
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopCtl.signal.aborted) {
      try {
        await this.catchUp();
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 60 === 0) {
          this.o.log.warn('Deriving rollouts failed; retrying', { error: err, failures });
        }
      }
      await sleep(this.o.intervalMs ?? 1000, this.stopCtl.signal);
    }
  }

  private async step(head: number): Promise<void> {
    const after = this.o.store.cursor();
    const batch = await this.o.encoder.batch(
      {
        after,
        hi: head,
        filter: FILTER,
        cluster: '',
        maxRecords: STEP_RECORDS,
        maxBytes: 64 * 1024 * 1024,
      },
      'json',
      false,
    );
    const records = batch.records
      ? (JSON.parse(Buffer.from(batch.payload).toString('utf8')) as ExportRecord[])
      : [];
    this.o.store.advance(batch.end, () => this.deriver.apply(records));
  }
}
