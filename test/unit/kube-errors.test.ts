import { describe, expect, it } from 'vitest';
import { ApiException } from '@kubernetes/client-node';
import { KubeError, toKubeError } from '../../src/kube/errors.ts';

describe('toKubeError', () => {
  it.each([
    [401, 'Unauthorized'],
    [403, 'Forbidden'],
    [404, 'NotFound'],
    [409, 'Conflict'],
    [410, 'Gone'],
    [422, 'Invalid'],
    [500, 'Other'],
  ])('maps HTTP %i from the client to %s with the API message', (status, reason) => {
    const body = JSON.stringify({ kind: 'Status', message: `the thing said ${status}` });
    const err = toKubeError(new ApiException(status, 'HTTP error', body, {}), 'list pods');
    expect(err).toBeInstanceOf(KubeError);
    expect(err.reason).toBe(reason);
    expect(err.status).toBe(status);
    expect(err.message).toBe(`list pods: the thing said ${status}`);
  });

  it('recognises a network failure by the code of a nested cause', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), {
      code: 'ECONNREFUSED',
    });
    const err = toKubeError(new TypeError('fetch failed', { cause }), 'watch pods');
    expect(err.reason).toBe('Unreachable');
    expect(err.message).toBe('watch pods: ECONNREFUSED');
    expect(err.cause).toBeInstanceOf(TypeError);
  });

  it('keeps the chain of messages of an unknown failure', () => {
    const err = toKubeError(
      new TypeError('fetch failed', { cause: new Error('bad port') }),
      'get version',
    );
    expect(err.reason).toBe('Other');
    expect(err.message).toBe('get version: fetch failed: bad port');
  });
});
