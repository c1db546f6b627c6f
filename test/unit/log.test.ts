import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';

function capture(level: Parameters<typeof createLogger>[0]) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(level, (line) =>
    lines.push(JSON.parse(line) as Record<string, unknown>),
  );
  return { log, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with time, level, message and fields', () => {
    const { log, lines } = capture('info');
    log.info('Reconciled policy', { name: 'workloads', generation: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'Reconciled policy',
      name: 'workloads',
      generation: 3,
    });
    expect(Date.parse(lines[0]?.time as string)).not.toBeNaN();
  });

  it('drops lines below the configured level', () => {
    const { log, lines } = capture('warn');
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    expect(lines.map((l) => l.msg)).toEqual(['c', 'd']);
  });

  it('adds child fields to every line and serialises errors with their cause', () => {
    const { log, lines } = capture('debug');
    log.child({ component: 'reflector' }).error('Watch failed', {
      error: new Error('outer', { cause: new Error('inner') }),
    });
    expect(lines[0]).toMatchObject({
      component: 'reflector',
      error: { message: 'outer', name: 'Error', cause: { message: 'inner' } },
    });
  });
});
