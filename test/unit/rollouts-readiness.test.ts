// The readiness rules per kind: kubectl rollout status's inequalities, kubedog's StatefulSet and
// Job rules, and the status failures both miss.
import { describe, expect, it } from 'vitest';
import type { KubeObject, Pod } from '../../src/rollouts/objects.ts';
import {
  daemonSetVerdict,
  deploymentVerdict,
  genericVerdict,
  jobVerdict,
  podDisplayStatus,
  podVerdict,
  statefulSetVerdict,
} from '../../src/rollouts/readiness.ts';

function obj(
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
  generation = 2,
): KubeObject {
  return { metadata: { name: 'x', generation }, spec, status };
}

describe('Deployment', () => {
  const done = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };

  it('waits until the new generation is observed, whatever the counts say', () => {
    const v = deploymentVerdict(obj({ replicas: 3 }, { ...done, observedGeneration: 1 }));
    expect(v.state).toBe('progressing');
    expect(v.message).toContain('generation 2, observed 1');
  });

  it('is ready with a surge Pod still counted (inequality, not kubedog equality)', () => {
    // replicas 2 -> 1 with a terminating Pod: kubedog's equality hangs here (helmfile#2445).
    const v = deploymentVerdict(
      obj(
        { replicas: 1 },
        { observedGeneration: 2, replicas: 1, updatedReplicas: 2, availableReplicas: 2 },
      ),
    );
    expect(v.state).toBe('ready');
  });

  it('waits for updated, then old, then available replicas, in kubectl order', () => {
    const s = { replicas: 3 };
    expect(deploymentVerdict(obj(s, { ...done, updatedReplicas: 1 })).message).toBe(
      '1 of 3 new replicas updated',
    );
    expect(deploymentVerdict(obj(s, { ...done, replicas: 4 })).message).toBe(
      '1 old replicas are pending termination',
    );
    expect(deploymentVerdict(obj(s, { ...done, availableReplicas: 2 })).message).toBe(
      '2 of 3 updated replicas available',
    );
    expect(deploymentVerdict(obj(s, done)).state).toBe('ready');
  });

  it('fails on ProgressDeadlineExceeded and on ReplicaFailure, quoting the condition', () => {
    const deadline = deploymentVerdict(
      obj(
        { replicas: 3 },
        {
          ...done,
          updatedReplicas: 1,
          conditions: [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: 'ReplicaSet "web-1" has timed out progressing.',
            },
          ],
        },
      ),
    );
    expect(deadline).toEqual({
      state: 'failed',
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "web-1" has timed out progressing.',
    });
    const quota = deploymentVerdict(
      obj(
        { replicas: 3 },
        {
          ...done,
          updatedReplicas: 1,
          conditions: [
            {
              type: 'ReplicaFailure',
              status: 'True',
              reason: 'FailedCreate',
              message: 'pods "web-1-x" is forbidden: exceeded quota: q',
            },
          ],
        },
      ),
    );
    expect(quota.state).toBe('failed');
    expect(quota.reason).toBe('FailedCreate');
    expect(quota.message).toContain('exceeded quota');
  });

  it('takes one replica when spec.replicas is unset', () => {
    expect(
      deploymentVerdict(
        obj({}, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }),
      ).state,
    ).toBe('ready');
    expect(deploymentVerdict(obj({}, { observedGeneration: 2 })).state).toBe('progressing');
  });
});

describe('StatefulSet', () => {
  const rolling = {
    replicas: 3,
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
  };

  it('waits until observed at all (observedGeneration 0), then for ready Pods', () => {
    expect(statefulSetVerdict(obj(rolling, {}, 1)).state).toBe('progressing');
    expect(
      statefulSetVerdict(obj(rolling, { observedGeneration: 2, readyReplicas: 2 })).message,
    ).toBe('2 of 3 Pods ready');
  });

  it('with partition 0 is ready only when the update revision became the current one', () => {
    const base = { observedGeneration: 2, readyReplicas: 3, updatedReplicas: 3 };
    expect(
      statefulSetVerdict(obj(rolling, { ...base, updateRevision: 'db-2', currentRevision: 'db-1' }))
        .state,
    ).toBe('progressing');
    expect(
      statefulSetVerdict(obj(rolling, { ...base, updateRevision: 'db-2', currentRevision: 'db-2' }))
        .state,
    ).toBe('ready');
  });

  it('with a partition is ready once replicas − partition Pods are updated', () => {
    const spec = {
      replicas: 5,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 3 } },
    };
    const base = {
      observedGeneration: 2,
      readyReplicas: 5,
      updateRevision: 'b',
      currentRevision: 'a',
    };
    expect(statefulSetVerdict(obj(spec, { ...base, updatedReplicas: 1 })).message).toBe(
      '1 of 2 Pods updated (partition 3)',
    );
    expect(statefulSetVerdict(obj(spec, { ...base, updatedReplicas: 2 })).state).toBe('ready');
  });

  it('with OnDelete is ready before any Pod is replaced, or once all are', () => {
    const spec = { replicas: 2, updateStrategy: { type: 'OnDelete' } };
    const base = { observedGeneration: 2, readyReplicas: 2 };
    expect(
      statefulSetVerdict(
        obj(spec, { ...base, updatedReplicas: 0, updateRevision: 'a', currentRevision: 'a' }),
      ).state,
    ).toBe('ready');
    expect(
      statefulSetVerdict(
        obj(spec, { ...base, updatedReplicas: 1, updateRevision: 'b', currentRevision: 'a' }),
      ).state,
    ).toBe('progressing');
    expect(
      statefulSetVerdict(
        obj(spec, { ...base, updatedReplicas: 2, updateRevision: 'b', currentRevision: 'a' }),
      ).state,
    ).toBe('ready');
  });
});

describe('DaemonSet', () => {
  it('waits for updated scheduled Pods, then available ones', () => {
    const base = { observedGeneration: 2, desiredNumberScheduled: 3 };
    const spec = { updateStrategy: { type: 'RollingUpdate' } };
    expect(
      daemonSetVerdict(obj(spec, { ...base, updatedNumberScheduled: 2, numberAvailable: 3 }))
        .message,
    ).toBe('2 of 3 updated Pods scheduled');
    expect(
      daemonSetVerdict(obj(spec, { ...base, updatedNumberScheduled: 3, numberAvailable: 1 }))
        .message,
    ).toBe('1 of 3 updated Pods available');
    expect(
      daemonSetVerdict(obj(spec, { ...base, updatedNumberScheduled: 3, numberAvailable: 3 })).state,
    ).toBe('ready');
  });

  it('with OnDelete does not wait for updates that only a deletion brings', () => {
    const v = daemonSetVerdict(
      obj(
        { updateStrategy: { type: 'OnDelete' } },
        {
          observedGeneration: 2,
          desiredNumberScheduled: 3,
          updatedNumberScheduled: 0,
          numberAvailable: 3,
        },
      ),
    );
    expect(v.state).toBe('ready');
    expect(v.message).toContain('OnDelete');
  });
});

describe('Job', () => {
  it('fails on Failed or FailureTarget with its reason, and is ready on Complete', () => {
    const failed = jobVerdict(
      obj(
        {},
        {
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
          ],
        },
      ),
    );
    expect(failed).toMatchObject({ state: 'failed', reason: 'BackoffLimitExceeded' });
    const target = jobVerdict(
      obj(
        {},
        {
          conditions: [
            {
              type: 'FailureTarget',
              status: 'True',
              reason: 'DeadlineExceeded',
              message: 'Job was active longer than specified deadline',
            },
          ],
        },
      ),
    );
    expect(target).toMatchObject({ state: 'failed', reason: 'DeadlineExceeded' });
    expect(
      jobVerdict(
        obj(
          { completions: 2 },
          { succeeded: 2, conditions: [{ type: 'Complete', status: 'True' }] },
        ),
      ).state,
    ).toBe('ready');
    expect(jobVerdict(obj({ completions: 2 }, { succeeded: 1, active: 1 })).message).toBe(
      '1 active, 1 of 2 succeeded, 0 failed',
    );
  });

  it('waits for Pods to terminate after SuccessCriteriaMet, and while suspended', () => {
    expect(
      jobVerdict(obj({}, { conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }] })).state,
    ).toBe('progressing');
    expect(jobVerdict(obj({ suspend: true }, {})).message).toBe('suspended');
  });
});

describe('Pod and other kinds', () => {
  const pod = (status: Pod['status'], extra: Partial<Pod> = {}): Pod => ({
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'app' }] },
    status,
    ...extra,
  });

  it('a Pod is ready on Ready=True, done on Succeeded and failed on Failed', () => {
    expect(
      podVerdict(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] })).state,
    ).toBe('ready');
    expect(podVerdict(pod({ phase: 'Succeeded' })).state).toBe('ready');
    expect(
      podVerdict(pod({ phase: 'Failed', reason: 'Evicted', message: 'low on memory' })),
    ).toEqual({
      state: 'failed',
      reason: 'Evicted',
      message: 'low on memory',
    });
  });

  it("shows a Pod's status as kubectl get pods does", () => {
    expect(
      podDisplayStatus(
        pod({
          phase: 'Pending',
          containerStatuses: [{ name: 'app', state: { waiting: { reason: 'ImagePullBackOff' } } }],
        }),
      ),
    ).toBe('ImagePullBackOff');
    expect(
      podDisplayStatus(
        pod(
          {
            phase: 'Pending',
            initContainerStatuses: [
              { name: 'init', state: { terminated: { exitCode: 1, reason: 'Error' } } },
            ],
          },
          { spec: { containers: [{ name: 'app' }], initContainers: [{ name: 'init' }] } },
        ),
      ),
    ).toBe('Init:Error');
    expect(
      podDisplayStatus(
        pod({
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }],
        }),
      ),
    ).toBe('Pending: Unschedulable');
    expect(
      podDisplayStatus(
        pod(
          { phase: 'Running' },
          { metadata: { name: 'p', deletionTimestamp: '2026-12-03T10:00:00Z' } },
        ),
      ),
    ).toBe('Terminating');
  });

  it('any other kind is ready on its Ready condition once its generation is observed', () => {
    expect(genericVerdict(obj({}, {})).message).toBe('no Ready condition yet');
    expect(
      genericVerdict(
        obj({}, { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] }),
      ).state,
    ).toBe('progressing');
    expect(
      genericVerdict(
        obj({}, { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }] }),
      ).state,
    ).toBe('ready');
    expect(
      genericVerdict(
        obj({}, { conditions: [{ type: 'Ready', status: 'False', reason: 'Reconciling' }] }),
      ).message,
    ).toBe('Ready False (Reconciling)');
  });
});
