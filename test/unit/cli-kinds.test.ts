// Kinds as typed to kubectl, resolved to the Kind the history API knows.
import { describe, expect, it } from 'vitest';
import { parseObjectRef, resolveKind } from '../../src/cli/kinds.ts';

describe('resolveKind', () => {
  it.each([
    ['deploy', 'Deployment'],
    ['deployment', 'Deployment'],
    ['deployments', 'Deployment'],
    ['Deployment', 'Deployment'],
    ['DEPLOY', 'Deployment'],
    ['po', 'Pod'],
    ['pods', 'Pod'],
    ['rs', 'ReplicaSet'],
    ['sts', 'StatefulSet'],
    ['cm', 'ConfigMap'],
    ['svc', 'Service'],
    ['ev', 'Event'],
    ['hp', 'HistoryPolicy'],
  ])('%s is %s', (text, kind) => {
    expect(resolveKind(text).kind).toBe(kind);
  });

  it('knows which kinds are cluster-scoped', () => {
    expect(resolveKind('no')).toEqual({ kind: 'Node', clusterScoped: true });
    expect(resolveKind('ns').clusterScoped).toBe(true);
    expect(resolveKind('pod').clusterScoped).toBe(false);
  });

  it('passes a Kind it does not know through, for custom resources', () => {
    expect(resolveKind('Certificate')).toEqual({ kind: 'Certificate', clusterScoped: false });
  });

  it('refuses other words, suggesting the closest known one', () => {
    expect(() => resolveKind('deplyo')).toThrow(/^unknown kind 'deplyo'; did you mean 'deploy'\?/);
    expect(() => resolveKind('xyzzy')).toThrow(/^unknown kind 'xyzzy' \(give a kind such as/);
  });
});

describe('parseObjectRef', () => {
  it('splits KIND/NAME, ignoring a group suffix', () => {
    expect(parseObjectRef('deploy/web')).toEqual({
      kind: 'Deployment',
      clusterScoped: false,
      name: 'web',
    });
    expect(parseObjectRef('deployments.apps/web').kind).toBe('Deployment');
  });

  it.each(['web', '/web', 'deploy/', 'deploy/a/b'])('refuses %s', (text) => {
    expect(() => parseObjectRef(text)).toThrow(/is not KIND\/NAME/);
  });

  it('refuses a name Kubernetes would not accept', () => {
    expect(() => parseObjectRef('pod/web 1')).toThrow("'web 1' is not an object name");
  });
});
