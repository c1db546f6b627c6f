// TypeScript types of the Sink custom resource (hindsight.dev/v1alpha1): where recorded history
// is exported. Matches crds/hindsight.dev_sinks.yaml. Imports only the shared API types.
import type { Condition, LabelSelector } from './history-policy.ts';

export const SINK_PLURAL = 'sinks';

export type SinkType = 'file' | 'webhook' | 's3';
export const SINK_TYPES: readonly SinkType[] = ['file', 'webhook', 's3'];

/** What a Sink exports: object changes, Event occurrences, gaps in the recorded history. */
export type RecordType = 'changes' | 'events' | 'gaps';
export const RECORD_TYPES: readonly RecordType[] = ['changes', 'events', 'gaps'];

export interface SecretKeyRef {
  /** A Secret in the operator's namespace. */
  name: string;
  key: string;
}

export interface FileDestination {
  /** Directory the files are written to, on a volume of the operator's pod. */
  directory: string;
  /** Files kept at most; older ones are removed. Default 1000. */
  maxFiles?: number;
  /** Files older than this are removed, e.g. 7d. Default: kept until maxFiles. */
  maxAge?: string;
}

export interface WebhookDestination {
  url: string;
  /** `ndjson` (application/x-ndjson, default) or `json` (an array of records). */
  format?: 'ndjson' | 'json';
  /** Every key of this Secret is sent as a header of that name. */
  headersSecretRef?: { name: string };
  /** The key holding a Standard Webhooks secret (`whsec_` + base64); signs each request. */
  signingSecretRef?: SecretKeyRef;
  /** PEM certificates trusted for an https URL, in addition to the system's. */
  caBundle?: string;
  /** Per request, e.g. 30s. Default 30s. */
  timeout?: string;
}

export interface S3Destination {
  bucket: string;
  /** Key prefix, without a leading or trailing slash. */
  prefix?: string;
  /** For S3-compatible stores, e.g. http://versitygw.storage:7070. Default: AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (bucket in the path), which most S3-compatible stores need. */
  forcePathStyle?: boolean;
  /**
   * A Secret with keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). Omitted:
   * the pod's ambient credentials (environment, IRSA web identity, instance metadata).
   */
  credentialsSecretRef?: { name: string };
}

export interface SinkBatch {
  /** Records per batch at most. Default 5000. */
  maxRecords?: number;
  /** Uncompressed bytes per batch at most, e.g. 8Mi. Default 8Mi. */
  maxBytes?: string;
  /** How long a record waits for its batch to fill, e.g. 60s. Default 60s. */
  maxDelay?: string;
}

export interface SinkSpec {
  type: SinkType;
  /** Default: every record type. */
  records?: RecordType[];
  namespaces?: { include?: string[]; exclude?: string[]; selector?: LabelSelector };
  /** Kinds whose changes are exported (Event selects Event occurrences); default every kind. */
  kinds?: string[];
  /** Export only what these HistoryPolicies record (their kinds and namespaces). */
  policies?: string[];
  batch?: SinkBatch;
  /** Default atLeastOnce. */
  delivery?: 'atLeastOnce' | 'atMostOnce';
  /** `now` (default), `beginning`, or an RFC 3339 time to backfill from retained history. */
  startFrom?: string;
  file?: FileDestination;
  webhook?: WebhookDestination;
  s3?: S3Destination;
}

export interface LostRange {
  /** First and last sequence number of the records removed before they were delivered. */
  fromSeq: number;
  toSeq: number;
  records: number;
  reason: string;
  time: string;
}

export interface SinkStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** Records delivered since the Sink was created (or its startFrom last changed). */
  delivered?: number;
  /** Records recorded but not delivered yet. */
  pending?: number;
  /** Sequence number of the last record acknowledged by the destination. */
  cursor?: number;
  lastDeliveryTime?: string;
  lastError?: string;
  /** Records removed by retention before this Sink delivered them. */
  lost?: LostRange[];
}

export interface Sink {
  apiVersion: string;
  kind: 'Sink';
  metadata: {
    name: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
  };
  spec: SinkSpec;
  status?: SinkStatus;
}

/** Condition types of a Sink. */
export const SinkCondition = {
  Ready: 'Ready',
  CredentialsResolved: 'CredentialsResolved',
  Delivering: 'Delivering',
} as const;

/** CamelCase reasons of Sink conditions. */
export const SinkReason = {
  Delivering: 'Delivering',
  UpToDate: 'UpToDate',
  InvalidSpec: 'InvalidSpec',
  SecretNotFound: 'SecretNotFound',
  SecretKeyMissing: 'SecretKeyMissing',
  Resolved: 'Resolved',
  NotNeeded: 'NotNeeded',
  DestinationUnavailable: 'DestinationUnavailable',
  Refused: 'Refused',
  BucketNotFound: 'BucketNotFound',
  AccessDenied: 'AccessDenied',
  Starting: 'Starting',
  ExportFailed: 'ExportFailed',
} as const;
