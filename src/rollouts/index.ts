// The rollout tracker as a library: what `hindsight track` is built on. See docs/tracking.md.
export {
  DEFAULT_NO_ACTIVITY_MS,
  DEFAULT_UNSCHEDULABLE_GRACE_MS,
  describeTarget,
  EXIT,
  exitCodeOf,
  track,
  type Outcome,
  type PodSummary,
  type Result,
  type StatusUpdate,
  type Target,
  type TrackedEvent,
  type TrackerCallbacks,
  type TrackerOptions,
} from './tracker.ts';
export type { LogLine } from './logs.ts';
export { workloadsOf, ManifestError } from './manifest.ts';
export { verdictOf, type State, type Verdict, type Replicas } from './readiness.ts';
export { KubeHttp } from '../kube/http.ts';
export { loadKubeConfig } from '../kube/connect.ts';
