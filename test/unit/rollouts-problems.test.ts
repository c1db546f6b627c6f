// Failure detection from Pod status and Events, the tree of a workload, the readiness probe
// window, manifests and log de-duplication: the pure parts of the rollout tracker.
import { describe, expect, it } from 'vitest';
import { LineDedup, splitTimestamp } from '../../src/rollouts/logs.ts';
import { ManifestError, workloadsOf } from '../../src/rollouts/manifest.ts';
import type { KubeEvent, KubeObject, Pod } from '../../src/rollouts/objects.ts';
import {
  classifyEvent,
  podProblems,
  readinessGraceEnd,
  readinessProblem,
} from '../../src/rollouts/problems.ts';
import { exitCodeOf, type Result } from '../../src/rollouts/tracker.ts';
import { treeOf } from '../../src/rollouts/tree.ts';

const NOW = Date.parse('2026-12-03T10:00:00Z');
const iso = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString();

function pod(status: Pod['status'], name = 'web-1-a'): Pod {
  return {
    metadata: { name, uid: `uid-${name}` },
    spec: { containers: [{ name: 'app' }] },
    status,
  };
}

const opts = { now: NOW, unschedulableGraceMs: 60_000 };

describe('podProblems', () => {
  it('fails an Unschedulable Pod only after the grace period, quoting the scheduler', () => {
    const unschedulable = (since: number) =>
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/1 nodes are available: 1 Insufficient memory.',
            lastTransitionTime: iso(since),
          },
        ],
      });
    expect(podProblems(unschedulable(30), opts)).toEqual([]);
    const [p] = podProblems(unschedulable(61), opts);
    expect(p).toMatchObject({ reason: 'Unschedulable', fatal: true });
    expect(p!.message).toContain(
      'Pod web-1-a is Unschedulable for 61s: 0/1 nodes are available: 1 Insufficient memory.',
    );
  });

  it('counts image pull errors of one container once, and never-pull as fatal', () => {
    const waiting = (reason: string) =>
      podProblems(
        pod({
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'app',
              state: { waiting: { reason, message: 'Back-off pulling image "nope:1"' } },
            },
          ],
        }),
        opts,
      );
    const [pull] = waiting('ErrImagePull');
    const [backoff] = waiting('ImagePullBackOff');
    expect(pull!.key).toBe(backoff!.key);
    expect(backoff!.fatal).toBe(false);
    expect(backoff!.message).toBe(
      'Pod web-1-a container app: ImagePullBackOff: Back-off pulling image "nope:1"',
    );
    expect(waiting('ErrImageNeverPull')[0]!.fatal).toBe(true);
    expect(waiting('InvalidImageName')[0]!.fatal).toBe(true);
    expect(waiting('CreateContainerConfigError')[0]!.reason).toBe('CreateContainerConfigError');
    expect(waiting('ContainerCreating')).toEqual([]);
  });

  it('counts each crash loop restart and each OOM kill as a new problem', () => {
    const crash = (restarts: number) =>
      podProblems(
        pod({
          phase: 'Running',
          containerStatuses: [
            {
              name: 'app',
              restartCount: restarts,
              state: { waiting: { reason: 'CrashLoopBackOff' } },
              lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
            },
          ],
        }),
        opts,
      );
    const first = crash(2).map((p) => p.key);
    const second = crash(3).map((p) => p.key);
    expect(first).toHaveLength(2);
    expect(second.filter((k) => first.includes(k))).toEqual([]);
    expect(
      crash(2)
        .map((p) => p.reason)
        .sort(),
    ).toEqual(['CrashLoopBackOff', 'OOMKilled']);
  });

  it('reports a failed init container, and nothing for a Pod being deleted', () => {
    const p = pod({
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'migrate', state: { terminated: { exitCode: 3, reason: 'Error' } } },
      ],
    });
    expect(podProblems(p, opts)[0]).toMatchObject({ reason: 'InitContainerError' });
    expect(podProblems(p, opts)[0]!.message).toContain(
      'init container migrate failed: Error, exit code 3',
    );
    p.metadata.deletionTimestamp = iso(1);
    expect(podProblems(p, opts)).toEqual([]);
  });
});

function event(
  kind: string,
  reason: string,
  message: string,
  extra: Partial<KubeEvent> = {},
): KubeEvent {
  return {
    metadata: { name: `e-${reason}`, uid: `ev-${reason}` },
    involvedObject: { kind, name: 'web-1', uid: 'uid-web-1' },
    reason,
    message,
    type: 'Warning',
    count: 1,
    lastTimestamp: iso(0),
    ...extra,
  };
}

describe('classifyEvent', () => {
  it("fails on a ReplicaSet's FailedCreate (kubedog #216, #398), naming it and quoting the message", () => {
    const v = classifyEvent(
      event(
        'ReplicaSet',
        'FailedCreate',
        'Error creating: pods "web-1-x" is forbidden: exceeded quota: q',
      ),
    );
    expect(v).toMatchObject({ kind: 'problem', problem: { reason: 'FailedCreate', fatal: true } });
    if (v.kind === 'problem')
      expect(v.problem.message).toBe(
        'ReplicaSet web-1 FailedCreate: Error creating: pods "web-1-x" is forbidden: exceeded quota: q',
      );
  });

  it('fails on BackoffLimitExceeded and DeadlineExceeded, ignores FailedDelete and "try again"', () => {
    expect(
      classifyEvent(
        event('Job', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
      ).kind,
    ).toBe('problem');
    expect(
      classifyEvent(
        event('Job', 'DeadlineExceeded', 'Job was active longer than specified deadline'),
      ).kind,
    ).toBe('problem');
    expect(classifyEvent(event('ReplicaSet', 'FailedDelete', 'x')).kind).toBe('info');
    expect(classifyEvent(event('StatefulSet', 'RecreatingFailedPod', 'x')).kind).toBe('info');
    expect(
      classifyEvent(
        event(
          'StatefulSet',
          'FailedCreate',
          'The POST operation against Pod could not be completed at this time, please try again.',
        ),
      ).kind,
    ).toBe('info');
    expect(
      classifyEvent(event('ReplicaSet', 'SuccessfulCreate', 'Created pod: web-1-x')).kind,
    ).toBe('info');
  });

  it('counts a probe-triggered restart per occurrence, and sends readiness failures to the window check', () => {
    const kill = event('Pod', 'Killing', 'Container app failed liveness probe, will be restarted');
    const a = classifyEvent(kill);
    const b = classifyEvent({ ...kill, count: 2 });
    expect(a.kind).toBe('problem');
    if (a.kind === 'problem' && b.kind === 'problem') expect(a.problem.key).not.toBe(b.problem.key);
    const ready = classifyEvent(
      event('Pod', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 500', {
        involvedObject: {
          kind: 'Pod',
          name: 'web-1-a',
          uid: 'u',
          fieldPath: 'spec.containers{app}',
        } as KubeEvent['involvedObject'],
      }),
    );
    expect(ready).toEqual({ kind: 'readiness-failure', container: 'app' });
    expect(classifyEvent(event('Pod', 'FailedScheduling', '0/1 nodes are available')).kind).toBe(
      'info',
    );
  });
});

describe('readiness probe window', () => {
  it("ignores failures while the container starts, as kubedog's probes.go computes it", () => {
    const started = NOW - 10_000;
    // defaults: 0 + 1 + (3 + 1 - 3) * 10 + 5 + 1 = 17 s
    expect(readinessGraceEnd({ name: 'app', readinessProbe: {} }, started)).toBe(started + 17_000);
    expect(
      readinessGraceEnd({ name: 'app', readinessProbe: { failureThreshold: 1 } }, started),
    ).toBe(started);
    expect(
      readinessGraceEnd(
        {
          name: 'app',
          readinessProbe: { periodSeconds: 5 },
          startupProbe: { failureThreshold: 10, periodSeconds: 2 },
        },
        started,
      ),
    ).toBe(started + (20 + 1 + 5 + 2.5 + 1) * 1000);
  });

  it('counts a readiness failure after the window and not within it', () => {
    const p: Pod = {
      metadata: { name: 'web-1-a', uid: 'u' },
      spec: { containers: [{ name: 'app', readinessProbe: {} }] },
      status: {
        containerStatuses: [
          { name: 'app', restartCount: 0, state: { running: { startedAt: iso(30) } } },
        ],
      },
    };
    const at = (secondsAgo: number) =>
      event('Pod', 'Unhealthy', 'Readiness probe failed: connection refused', {
        lastTimestamp: iso(secondsAgo),
      });
    expect(readinessProblem(at(20), p, 'app')).toBeUndefined();
    expect(readinessProblem(at(5), p, 'app')).toMatchObject({ reason: 'ReadinessProbeFailed' });
  });
});

describe('treeOf', () => {
  const deploy: KubeObject = {
    metadata: { name: 'web', uid: 'd', annotations: { 'deployment.kubernetes.io/revision': '2' } },
  };
  const rs = (uid: string, revision: string, owner = 'd'): KubeObject => ({
    metadata: {
      name: `web-${uid}`,
      uid,
      annotations: { 'deployment.kubernetes.io/revision': revision },
      ownerReferences: [{ kind: 'Deployment', name: 'web', uid: owner, controller: true }],
    },
  });
  const podOf = (name: string, owner: string): Pod => ({
    metadata: {
      name,
      uid: name,
      ownerReferences: [{ kind: 'ReplicaSet', name: owner, uid: owner, controller: true }],
    },
  });

  it("takes a Deployment's own ReplicaSets and their Pods, the current revision's as new", () => {
    const t = treeOf(
      'Deployment',
      deploy,
      [rs('r1', '1'), rs('r2', '2'), rs('x', '2', 'other')],
      [podOf('a', 'r1'), podOf('b', 'r2'), podOf('c', 'x')],
    );
    expect(t.replicaSets.map((r) => r.metadata.uid)).toEqual(['r1', 'r2']);
    expect(t.pods.map((p) => p.metadata.name)).toEqual(['a', 'b']);
    expect(t.newPods.map((p) => p.metadata.name)).toEqual(['b']);
    expect([...t.uids].sort()).toEqual(['a', 'b', 'd', 'r1', 'r2']);
  });

  it("takes a StatefulSet's Pods of the update revision as new", () => {
    const sts: KubeObject = {
      metadata: { name: 'db', uid: 's' },
      status: { updateRevision: 'db-2' },
    };
    const p = (name: string, rev: string): Pod => ({
      metadata: {
        name,
        uid: name,
        labels: { 'controller-revision-hash': rev },
        ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 's', controller: true }],
      },
    });
    expect(
      treeOf('StatefulSet', sts, [], [p('db-0', 'db-1'), p('db-1', 'db-2')]).newPods.map(
        (x) => x.metadata.name,
      ),
    ).toEqual(['db-1']);
  });
});

describe('workloadsOf', () => {
  it('takes the workloads of a multi-document manifest and of Lists, defaulting the namespace', () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: batch/v1, kind: Job, metadata: {name: migrate, namespace: ops}}
  - {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}}
---
`;
    expect(workloadsOf(text, 'shop', 'app.yaml')).toEqual([
      { kind: 'Deployment', name: 'web', namespace: 'shop' },
      { kind: 'Job', name: 'migrate', namespace: 'ops' },
      { kind: 'StatefulSet', name: 'db', namespace: 'shop' },
    ]);
  });

  it('names the document that is wrong', () => {
    expect(() => workloadsOf('kind: [', 'ns', 'app.yaml')).toThrow(/app.yaml is not valid YAML/);
    expect(() =>
      workloadsOf('apiVersion: apps/v1\nkind: Deployment\nmetadata: {}\n', 'ns', 'app.yaml'),
    ).toThrow(new ManifestError('app.yaml document 1 (Deployment) has no metadata.name'));
    expect(() => workloadsOf('- 1\n', 'ns', 'app.yaml')).toThrow(
      /document 1 is not a Kubernetes object/,
    );
  });
});

describe('log lines', () => {
  it('splits the kubelet timestamp from the text', () => {
    expect(splitTimestamp('2026-12-03T10:00:00.123456789Z hello world')).toEqual({
      time: '2026-12-03T10:00:00.123456789Z',
      text: 'hello world',
    });
    expect(splitTimestamp('no timestamp')).toBeUndefined();
  });

  it('drops the lines a re-opened stream gives again, and keeps equal lines at new instants', () => {
    const d = new LineDedup();
    const seen = (ts: string, text: string) => d.accept(ts, text);
    expect(seen('2026-12-03T10:00:00.1Z', 'a')).toBe(true);
    expect(seen('2026-12-03T10:00:00.2Z', 'b')).toBe(true);
    expect(d.resumeAt).toBe('2026-12-03T10:00:00Z');
    // re-opened from the second: both come again, then a new line
    expect(seen('2026-12-03T10:00:00.1Z', 'a')).toBe(false);
    expect(seen('2026-12-03T10:00:00.200000000Z', 'b')).toBe(false);
    expect(seen('2026-12-03T10:00:00.2Z', 'c')).toBe(true);
    expect(seen('2026-12-03T10:00:01Z', 'a')).toBe(true);
  });
});

describe('exitCodeOf', () => {
  const r = (outcome: Result['outcome']): Result => ({
    target: { kind: 'Deployment', name: 'w', namespace: 'n' },
    outcome,
    message: '',
    durationMs: 0,
  });
  it('0 ready, 1 failed, 3 timeout, 4 not found or deleted, 5 API error, the most telling first', () => {
    expect(exitCodeOf([r('ready'), r('ready')])).toBe(0);
    expect(exitCodeOf([r('ready'), r('timeout')])).toBe(3);
    expect(exitCodeOf([r('deleted'), r('timeout')])).toBe(4);
    expect(exitCodeOf([r('not-found'), r('failed'), r('stopped')])).toBe(1);
    expect(exitCodeOf([r('failed'), r('error')])).toBe(5);
  });
});
