// The recorder: the only writer of history. It turns reflector items into versions, Event
// occurrences, inferred deletions, gaps and checkpoints, in batched transactions. Per object it
// applies, in order: redaction (Secrets), exclusion rules of every policy that selects the object
// (on a view where no Secret value can be told apart), ignore-fields, no-op detection against the
// last stored state, then the diff.
import type { KubeObject, ReflectorItem, WatchTarget } from '../kube/reflector.ts';
import type { Logger } from '../log.ts';
import {
  BODY_PATCH,
  BODY_SNAPSHOT,
  type HistoryWriter,
  type ObjectHead,
  type PolicyCounts,
} from '../store/writer.ts';
import { actorsOfChange, formatActors, managersOf } from './actor.ts';
import { decodeJson, encodeJson } from './codec.ts';
import { changedPaths, diff, type PatchOp } from './diff.ts';
import { Batcher } from './batcher.ts';
import { Enricher } from './enrichment.ts';
import { toEventRecord } from './events.ts';
import {
  compileIgnoreFields,
  DEFAULT_IGNORE_FIELDS,
  stripIgnored,
  type IgnoreMatcher,
} from './ignore-fields.ts';
import {
  DEFAULT_MAX_AGE_MS,
  evaluateRules,
  kindKey,
  selectsNamespace,
  type CompiledPolicy,
} from './policy.ts';
import { redactSecret, ruleView } from './redact.ts';

/** A full snapshot every N versions bounds how many patches rebuild any version. */
export const SNAPSHOT_EVERY = 16;

export interface RecorderMetrics {
  recorded(kind: string, type: string): void;
  excluded(kind: string): void;
  ruleError(policy: string): void;
  eventOccurrences(count: number): void;
  gap(watch: string): void;
  lag(seconds: number): void;
  batch(items: number, seconds: number): void;
}

export interface RecorderOptions {
  writer: HistoryWriter;
  log: Logger;
  metrics?: RecorderMetrics;
  now?: () => number;
  /** Items per transaction. */
  batchSize?: number;
  /** How long the first item of a batch may wait for more. */
  batchDelayMs?: number;
  /** Called when a batch failed to commit (disk full, I/O error) and when commits work again. */
  onWritable?: (ok: boolean, error?: Error) => void;
  retryDelayMs?: number;
}

interface Entry {
  target: WatchTarget;
  items: ReflectorItem[];
}

const noMetrics: RecorderMetrics = {
  recorded() {},
  excluded() {},
  ruleError() {},
  eventOccurrences() {},
  gap() {},
  lag() {},
  batch() {},
};

export class Recorder {
  private readonly w: HistoryWriter;
  private readonly log: Logger;
  private readonly metrics: RecorderMetrics;
  private readonly now: () => number;
  private readonly batcher: Batcher<Entry>;
  private policies: CompiledPolicy[] = [];
  private ignore = new Map<string, IgnoreMatcher>();
  private seq: number;
  private readonly enricher = new Enricher();
  private counts = new Map<string, PolicyCounts>();

  constructor(opts: RecorderOptions) {
    this.w = opts.writer;
    this.log = opts.log;
    this.metrics = opts.metrics ?? noMetrics;
    this.now = opts.now ?? Date.now;
    this.seq = this.w.maxSeq();
    this.batcher = new Batcher<Entry>({
      commit: (batch) => this.commit(batch),
      size: (e) => e.items.length,
      log: this.log,
      batchSize: opts.batchSize ?? 1000,
      batchDelayMs: opts.batchDelayMs ?? 20,
      retryDelayMs: opts.retryDelayMs ?? 2000,
      onWritable: opts.onWritable,
      committed: (batch, items, seconds) => {
        this.metrics.batch(items, seconds);
        const now = this.now();
        for (const e of batch)
          for (const item of e.items) this.metrics.lag(Math.max(0, (now - item.time) / 1000));
      },
    });
  }

  /** Replaces the compiled policies; takes effect from the next item. */
  setPolicies(policies: CompiledPolicy[]): void {
    this.policies = policies;
    this.ignore = new Map();
  }

  /** Hands items of one watch to the recorder; resolves once they are committed. */
  write(target: WatchTarget, items: ReflectorItem[]): Promise<void> {
    return items.length === 0 ? Promise.resolve() : this.batcher.add({ target, items });
  }

  /** Commits what is queued, then stops (see Batcher.stop). */
  stop(): Promise<void> {
    return this.batcher.stop();
  }

  /** Applies a batch in one transaction; on failure nothing of it is written or counted. */
  private commit(batch: Entry[]): void {
    try {
      this.w.transaction(() => {
        for (const { target, items } of batch) {
          let checkpoint: { rv: string; time: number } | null = null;
          for (const item of items) checkpoint = this.apply(target, item) ?? checkpoint;
          if (checkpoint) this.w.setCheckpoint(target.key, checkpoint.rv, checkpoint.time);
        }
        for (const [policy, c] of this.counts) this.w.addPolicyCounts(policy, c);
        this.w.saveSeq(this.seq);
      });
    } catch (err) {
      this.seq = this.w.maxSeq();
      throw err;
    } finally {
      this.counts = new Map();
    }
  }

  /** Applies one item; returns the checkpoint it advances to, if any. */
  private apply(target: WatchTarget, item: ReflectorItem): { rv: string; time: number } | null {
    switch (item.type) {
      case 'BOOKMARK':
        return { rv: item.rv, time: item.time };
      case 'RELIST_DONE':
        this.inferDeletions(target, item.seen, item.rv, item.time);
        if (item.gap) {
          this.w.insertGap({
            seq: ++this.seq,
            watch: target.key,
            apiGroup: target.group,
            resource: target.resource,
            namespace: target.namespace ?? '',
            start: item.gap.start,
            end: item.time,
            reason: item.gap.reason,
          });
          this.metrics.gap(target.key);
        }
        return { rv: item.rv, time: item.time };
      default: {
        const rv = item.object.metadata?.resourceVersion;
        if (target.kind === 'Event') {
          this.applyEvent(item.object, item.time);
        } else {
          this.applyObject(target, item.type, item.object, item.time);
        }
        // Items of a relist do not advance the checkpoint: only its end does.
        return item.type !== 'SYNC' && rv ? { rv, time: item.time } : null;
      }
    }
  }

  private countsFor(policy: string): PolicyCounts {
    let c = this.counts.get(policy);
    if (!c) {
      c = { changes: 0, events: 0, excluded: 0, ruleErrors: 0, lastRecorded: null };
      this.counts.set(policy, c);
    }
    return c;
  }

  private selecting(group: string, kind: string, namespace: string): CompiledPolicy[] {
    const key = kindKey(group, kind);
    return this.policies.filter(
      (p) => p.kinds.has(key) && selectsNamespace(p, namespace, this.enricher.namespaceLabels),
    );
  }

  /** Policies that record `obj` (selected and not excluded), counting exclusions and rule errors. */
  private recordingPolicies(
    selecting: CompiledPolicy[],
    kind: string,
    obj: unknown,
  ): CompiledPolicy[] {
    const out: CompiledPolicy[] = [];
    for (const p of selecting) {
      const verdict = evaluateRules(p.rules, kind, obj);
      for (const e of verdict.errors) {
        this.countsFor(p.name).ruleErrors++;
        this.metrics.ruleError(p.name);
        this.log.warn('Exclusion rule failed to evaluate; the object is recorded', {
          policy: p.name,
          rule: e.rule,
          error: e.message,
        });
      }
      if (verdict.excludedBy !== null) {
        this.countsFor(p.name).excluded++;
        this.metrics.excluded(kind);
      } else out.push(p);
    }
    return out;
  }

  private matcherFor(kind: string, policies: CompiledPolicy[]): IgnoreMatcher {
    const key = `${kind}\u0000${policies.map((p) => p.name).join('\u0000')}`;
    let m = this.ignore.get(key);
    if (!m) {
      const patterns = [...DEFAULT_IGNORE_FIELDS, ...policies.flatMap((p) => p.ignoreFields)];
      m = compileIgnoreFields(patterns).matcher;
      this.ignore.set(key, m);
    }
    return m;
  }

  private applyObject(
    target: WatchTarget,
    type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNC',
    raw: KubeObject,
    time: number,
  ): void {
    const meta = raw.metadata ?? {};
    const uid = meta.uid;
    const rv = meta.resourceVersion;
    if (!uid || !rv) return;
    const namespace = meta.namespace ?? '';
    const kind = raw.kind ?? target.kind;
    this.enricher.observe(kind, namespace, meta.name ?? '', type === 'DELETED' ? null : raw);
    const head = this.w.findObject(uid);
    if (head && head.last_rv === rv && head.deleted_at === null) return;
    if (type === 'DELETED') {
      if (head && head.deleted_at === null) this.recordDeletion(head, target.group, raw, time);
      return;
    }
    // Redaction comes before the rules: they see no Secret value (redact.ts).
    const obj = kind === 'Secret' ? redactSecret(raw) : raw;
    const policies = this.recordingPolicies(
      this.selecting(target.group, kind, namespace),
      kind,
      ruleView(obj, kind),
    );
    if (policies.length === 0) return;
    const body = stripIgnored(obj, this.matcherFor(kind, policies), kind);
    const keepUntil = time + Math.max(...policies.map((p) => p.maxAgeMs));
    const facts = this.enricher.facts(kind, namespace, obj);
    if (!head) {
      const seq = ++this.seq;
      const encoded = encodeJson(body);
      const id = this.w.insertObject(
        {
          uid,
          apiGroup: target.group,
          apiVersion: raw.apiVersion ?? target.version,
          kind,
          resource: target.resource,
          namespace,
          name: meta.name ?? '',
        },
        facts,
        { rv, seq, time, body: encoded, chain: 0 },
      );
      this.w.insertVersion({
        seq,
        objectId: id,
        rv,
        time,
        type: 'added',
        inferred: false,
        actor: formatActors(actorsOfChange(null, managersOf(raw))) || null,
        paths: null,
        bodyKind: BODY_SNAPSHOT,
        body: encoded,
        keepUntil,
      });
      this.counted(policies, kind, 'added', time);
      return;
    }
    // An object recorded as deleted keeps no last state: seen alive again, it gets a snapshot.
    const last = head.deleted_at === null ? head.last_body : null;
    const revived = last === null;
    const ops = last === null ? [] : diff(decodeJson(last), body);
    if (ops.length === 0 && !revived) return;
    const seq = ++this.seq;
    const chain = revived || head.chain + 1 >= SNAPSHOT_EVERY ? 0 : head.chain + 1;
    const encoded = encodeJson(body);
    const inserted = this.w.insertVersion({
      seq,
      objectId: head.id,
      rv,
      time,
      type: 'modified',
      inferred: false,
      actor: formatActors(actorsOfChange(parseManagers(head), managersOf(raw))) || null,
      paths: revived ? null : JSON.stringify(changedPaths(ops)),
      bodyKind: chain === 0 ? BODY_SNAPSHOT : BODY_PATCH,
      body: chain === 0 ? encoded : encodeJson(ops),
      keepUntil,
    });
    if (!inserted) return;
    this.w.updateHead(head, raw.apiVersion ?? target.version, facts, {
      rv,
      seq,
      time,
      body: encoded,
      chain,
    });
    this.counted(policies, kind, 'modified', time);
  }

  /** Records the deletion of a recorded object: seen in a watch (`raw`) or inferred at a relist. */
  private recordDeletion(
    head: ObjectHead,
    group: string,
    raw: KubeObject | null,
    time: number,
    inferredRv?: string,
  ): void {
    const kind = head.kind;
    const policies = this.selecting(group, kind, head.namespace);
    let ops: PatchOp[] = [];
    if (raw && head.last_body) {
      const obj = kind === 'Secret' ? redactSecret(raw) : raw;
      const body = stripIgnored(obj, this.matcherFor(kind, policies), kind);
      ops = diff(decodeJson(head.last_body), body);
    }
    const seq = ++this.seq;
    const rv = raw?.metadata?.resourceVersion ?? inferredRv ?? '';
    // History of an object no policy selects any more is kept for the default retention.
    const maxAge = policies.length
      ? Math.max(...policies.map((p) => p.maxAgeMs))
      : DEFAULT_MAX_AGE_MS;
    this.w.insertVersion({
      seq,
      objectId: head.id,
      rv,
      time,
      type: 'deleted',
      inferred: raw === null,
      actor: raw
        ? formatActors(actorsOfChange(parseManagers(head), managersOf(raw))) || null
        : null,
      paths: ops.length ? JSON.stringify(changedPaths(ops)) : null,
      bodyKind: BODY_PATCH,
      body: encodeJson(ops),
      keepUntil: time + maxAge,
    });
    this.w.markDeleted(head.id, raw ? 'observed' : 'inferred', {
      rv,
      seq,
      time,
      chain: head.chain + 1,
    });
    this.counted(policies, kind, 'deleted', time);
  }

  /** After a relist: alive objects of the watch's scope that the list did not return were deleted. */
  private inferDeletions(
    target: WatchTarget,
    seen: Set<string>,
    listRv: string,
    time: number,
  ): void {
    for (const o of this.w.aliveObjects(target.group, target.resource, target.namespace)) {
      if (seen.has(o.uid)) continue;
      const head = this.w.findObject(o.uid);
      if (head) this.recordDeletion(head, target.group, null, time, `relist:${listRv}`);
    }
  }

  private applyEvent(raw: KubeObject, time: number): void {
    const e = toEventRecord(raw, time);
    if (!e) return;
    const policies = this.policies.filter(
      (p) => p.events && selectsNamespace(p, e.namespace, this.enricher.namespaceLabels),
    );
    if (policies.length === 0) return;
    const recording = this.recordingPolicies(policies, 'Event', raw);
    if (recording.length === 0) return;
    const keepUntil = e.lastTime + Math.max(...recording.map((p) => p.maxAgeMs));
    const existing = this.w.findEvent(e.uid);
    let occurred = 0;
    if (!existing) {
      const id = this.w.insertEvent(e);
      occurred = e.count;
      this.w.insertOccurrence({
        seq: ++this.seq,
        eventId: id,
        rv: e.rv,
        time: e.lastTime,
        count: e.count,
        // Later occurrences store it only when it changed: the Event's row keeps only the last.
        message: e.message,
        keepUntil,
      });
    } else {
      if (existing.last_rv === e.rv) return;
      const delta = e.count - existing.count;
      if (delta > 0 || e.lastTime > existing.last_time) {
        occurred = Math.max(1, delta);
        this.w.insertOccurrence({
          seq: ++this.seq,
          eventId: existing.id,
          rv: e.rv,
          time: e.lastTime,
          count: occurred,
          message: e.message !== existing.message ? e.message : null,
          keepUntil,
        });
      }
      this.w.updateEvent(existing.id, {
        lastTime: Math.max(e.lastTime, existing.last_time),
        count: Math.max(e.count, existing.count),
        message: e.message,
        rv: e.rv,
      });
    }
    if (occurred > 0) {
      this.metrics.eventOccurrences(occurred);
      for (const p of recording) {
        const c = this.countsFor(p.name);
        c.events++;
        c.lastRecorded = Math.max(c.lastRecorded ?? 0, time);
      }
    }
  }

  private counted(policies: CompiledPolicy[], kind: string, type: string, time: number): void {
    this.metrics.recorded(kind, type);
    for (const p of policies) {
      const c = this.countsFor(p.name);
      c.changes++;
      c.lastRecorded = Math.max(c.lastRecorded ?? 0, time);
    }
  }
}

function parseManagers(head: ObjectHead): ReturnType<typeof managersOf> | null {
  return head.managers ? (JSON.parse(head.managers) as ReturnType<typeof managersOf>) : null;
}
