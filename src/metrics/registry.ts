// Every Prometheus metric of Hindsight is defined here, on one registry owned by the process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ControllerMetrics } from '../controllers/history-policy/controller.ts';
import type { ApiMetrics } from '../http/api-metrics.ts';
import type { ReflectorMetrics } from '../kube/reflector.ts';
import type { RecorderMetrics } from '../recorder/recorder.ts';
import type { SinkMetrics } from '../sinks/runner.ts';

export interface Metrics {
  registry: Registry;
  buildInfo: Gauge<'version' | 'node_version'>;
  kubeApiServerInfo: Gauge<'server' | 'git_version'>;
  storeBytes: Gauge;
  storeWritable: Gauge;
  retentionDeleted: Counter<'what'>;
  recorder: RecorderMetrics;
  reflector: ReflectorMetrics;
  controller: ControllerMetrics;
  api: ApiMetrics;
  sinks: SinkMetrics;
}

export function createMetrics(version: string): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const buildInfo = new Gauge({
    name: 'hindsight_build_info',
    help: 'Constant 1, labelled with the Hindsight and Node.js versions.',
    labelNames: ['version', 'node_version'],
    registers,
  });
  buildInfo.set({ version, node_version: process.versions.node }, 1);
  const kubeApiServerInfo = new Gauge({
    name: 'hindsight_kube_apiserver_info',
    help: 'Constant 1, labelled with the Kubernetes API server Hindsight is connected to and its version.',
    labelNames: ['server', 'git_version'],
    registers,
  });

  const changes = new Counter({
    name: 'hindsight_recorder_changes_total',
    help: 'Versions recorded, by kind and type (added, modified, deleted).',
    labelNames: ['kind', 'type'],
    registers,
  });
  const excluded = new Counter({
    name: 'hindsight_recorder_excluded_total',
    help: 'Changes not recorded because an exclusion rule matched, by kind.',
    labelNames: ['kind'],
    registers,
  });
  const ruleErrors = new Counter({
    name: 'hindsight_recorder_rule_errors_total',
    help: 'Exclusion rules that failed to evaluate for an object (the object was recorded), by policy.',
    labelNames: ['policy'],
    registers,
  });
  const occurrences = new Counter({
    name: 'hindsight_recorder_event_occurrences_total',
    help: 'Occurrences of Kubernetes Events recorded (a count update adds its increase).',
    registers,
  });
  const gaps = new Counter({
    name: 'hindsight_recorder_gaps_total',
    help: 'Intervals recorded as gaps, in which history may be incomplete, by watch.',
    labelNames: ['watch'],
    registers,
  });
  const lag = new Histogram({
    name: 'hindsight_recorder_lag_seconds',
    help: 'Time from receiving a watch event to committing it.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const batchSize = new Histogram({
    name: 'hindsight_recorder_batch_items',
    help: 'Items committed per transaction.',
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2000],
    registers,
  });
  const batchDuration = new Histogram({
    name: 'hindsight_recorder_batch_duration_seconds',
    help: 'Time to apply and commit one batch.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const watchRestarts = new Counter({
    name: 'hindsight_watch_restarts_total',
    help: 'Watches reopened, by watch and reason (closed, idle, expired, backpressure, error).',
    labelNames: ['watch', 'reason'],
    registers,
  });
  const relists = new Counter({
    name: 'hindsight_watch_relists_total',
    help: 'Full lists of a watched resource, by watch and reason (Initial, ResourceVersionExpired).',
    labelNames: ['watch', 'reason'],
    registers,
  });
  const listDuration = new Histogram({
    name: 'hindsight_watch_list_duration_seconds',
    help: 'Time to list a watched resource and hand it to the recorder.',
    buckets: [0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120],
    registers,
  });
  const storeBytes = new Gauge({
    name: 'hindsight_store_bytes',
    help: 'Bytes of the history database in use.',
    registers,
  });
  const storeWritable = new Gauge({
    name: 'hindsight_store_writable',
    help: '1 when the last commit of the recorder succeeded, 0 while the database cannot be written (e.g. disk full).',
    registers,
  });
  storeWritable.set(1);
  const retentionDeleted = new Counter({
    name: 'hindsight_retention_deleted_total',
    help: 'Rows removed by retention, by what (versions, occurrences, objects, events, gaps).',
    labelNames: ['what'],
    registers,
  });
  const reconcileDuration = new Histogram({
    name: 'hindsight_controller_reconcile_duration_seconds',
    help: 'Time to reconcile one HistoryPolicy.',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers,
  });
  const reconcileErrors = new Counter({
    name: 'hindsight_controller_reconcile_errors_total',
    help: 'Reconciles of a HistoryPolicy that failed and will be retried.',
    registers,
  });

  const apiRequests = new Counter({
    name: 'hindsight_api_requests_total',
    help: 'Answered requests of the history API, by route pattern and status code.',
    labelNames: ['route', 'code'],
    registers,
  });
  const apiDuration = new Histogram({
    name: 'hindsight_api_request_duration_seconds',
    help: 'Time to answer a request of the history API, by route pattern (live streams excluded).',
    labelNames: ['route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const apiStreams = new Gauge({
    name: 'hindsight_api_streams',
    help: 'Live streams (/api/v1/stream) open now.',
    registers,
  });
  const apiBackups = new Counter({
    name: 'hindsight_api_backups_total',
    help: 'Backup downloads asked for, by result (sent, forbidden, busy, no-room, failed).',
    labelNames: ['result'],
    registers,
  });
  const apiBackupBytes = new Counter({
    name: 'hindsight_api_backup_bytes_total',
    help: 'Bytes of backups sent.',
    registers,
  });
  const authReviews = new Counter({
    name: 'hindsight_api_auth_reviews_total',
    help: 'TokenReviews and SubjectAccessReviews the API sent the Kubernetes API server (cache misses), by result (accepted, refused, error).',
    labelNames: ['review', 'result'],
    registers,
  });
  const authThrottled = new Counter({
    name: 'hindsight_api_auth_throttled_total',
    help: 'Requests answered 429 without a TokenReview: their address had too many tokens refused in the last minute.',
    registers,
  });
  const sinkLabels = ['sink'] as const;
  const sinkRecords = new Counter({
    name: 'hindsight_sink_records_delivered_total',
    help: 'Records a Sink delivered (acknowledged by its destination).',
    labelNames: sinkLabels,
    registers,
  });
  const sinkBytes = new Counter({
    name: 'hindsight_sink_bytes_delivered_total',
    help: 'Bytes a Sink sent in delivered batches (compressed where the destination is).',
    labelNames: sinkLabels,
    registers,
  });
  const sinkBatches = new Counter({
    name: 'hindsight_sink_batches_total',
    help: 'Batch attempts of a Sink by result (delivered, failed, dropped).',
    labelNames: ['sink', 'result'],
    registers,
  });
  const sinkFailures = new Counter({
    name: 'hindsight_sink_failures_total',
    help: 'Failed deliveries of a Sink by reason (unavailable, server-error, refused, access-denied, not-found, io, export).',
    labelNames: ['sink', 'reason'],
    registers,
  });
  const sinkDropped = new Counter({
    name: 'hindsight_sink_records_dropped_total',
    help: 'Records an atMostOnce Sink gave up on after a failure that may have delivered them.',
    labelNames: sinkLabels,
    registers,
  });
  const sinkLost = new Counter({
    name: 'hindsight_sink_records_lost_total',
    help: 'Records retention removed before a Sink delivered them (the Sink status names the ranges).',
    labelNames: sinkLabels,
    registers,
  });
  const sinkCursor = new Gauge({
    name: 'hindsight_sink_cursor',
    help: 'Sequence number up to which a Sink delivered.',
    labelNames: sinkLabels,
    registers,
  });
  const sinkLagRecords = new Gauge({
    name: 'hindsight_sink_lag_records',
    help: 'Records recorded that a Sink exports and has not delivered yet.',
    labelNames: sinkLabels,
    registers,
  });
  const sinkLagSeconds = new Gauge({
    name: 'hindsight_sink_lag_seconds',
    help: 'How long the oldest record a Sink has not delivered has waited.',
    labelNames: sinkLabels,
    registers,
  });

  return {
    registry,
    buildInfo,
    kubeApiServerInfo,
    storeBytes,
    storeWritable,
    retentionDeleted,
    recorder: {
      recorded: (kind, type) => changes.inc({ kind, type }),
      excluded: (kind) => excluded.inc({ kind }),
      ruleError: (policy) => ruleErrors.inc({ policy }),
      eventOccurrences: (n) => occurrences.inc(n),
      gap: (watch) => gaps.inc({ watch }),
      lag: (s) => lag.observe(s),
      batch: (items, s) => {
        batchSize.observe(items);
        batchDuration.observe(s);
      },
    },
    reflector: {
      watchRestart: (watch, reason) => watchRestarts.inc({ watch, reason }),
      relist: (watch, reason) => relists.inc({ watch, reason }),
      listDuration: (_watch, s) => listDuration.observe(s),
    },
    controller: {
      reconciled: (s, ok) => {
        reconcileDuration.observe(s);
        if (!ok) reconcileErrors.inc();
      },
    },
    sinks: {
      delivered: (sink, records, bytes) => {
        sinkRecords.inc({ sink }, records);
        sinkBytes.inc({ sink }, bytes);
      },
      batch: (sink, result) => sinkBatches.inc({ sink, result }),
      failure: (sink, reason) => sinkFailures.inc({ sink, reason }),
      dropped: (sink, n) => sinkDropped.inc({ sink }, n),
      lost: (sink, n) => sinkLost.inc({ sink }, n),
      position: (sink, cursor, lagSeconds) => {
        sinkCursor.set({ sink }, cursor);
        sinkLagSeconds.set({ sink }, lagSeconds);
      },
      pending: (sink, n) => sinkLagRecords.set({ sink }, n),
      forget: (sink) => {
        for (const m of [sinkRecords, sinkBytes, sinkDropped, sinkLost, sinkCursor])
          m.remove({ sink });
        sinkLagRecords.remove({ sink });
        sinkLagSeconds.remove({ sink });
      },
    },
    api: {
      request: (route, code, s) => {
        apiRequests.inc({ route, code: String(code) });
        if (route !== '/stream') apiDuration.observe({ route }, s);
      },
      openStreams: (n) => apiStreams.set(n),
      backup: (result, bytes) => {
        apiBackups.inc({ result });
        if (bytes) apiBackupBytes.inc(bytes);
      },
      auth: {
        review: (review, result) => authReviews.inc({ review, result }),
        throttled: () => authThrottled.inc(),
      },
    },
  };
}
