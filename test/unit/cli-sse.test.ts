// The Server-Sent Events parser, fed the way a network delivers: in arbitrary pieces.
import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/cli/sse.ts';

const STREAM =
  'retry: 2000\nid: 7\n\n' +
  ': keepalive\n\n' +
  'id: 8\nevent: version\ndata: {"seq":8}\n\n' +
  'id: 9\r\nevent: occurrence\r\ndata: {"seq":\r\ndata: 9}\r\n\r\n' +
  'id: 12\n\n';

describe('SseParser', () => {
  it('parses messages, skipping comments, whatever the chunking', () => {
    for (const size of [1, 2, 3, 7, STREAM.length]) {
      const p = new SseParser();
      const got = [];
      for (let i = 0; i < STREAM.length; i += size) got.push(...p.push(STREAM.slice(i, i + size)));
      expect(got, `chunks of ${size}`).toEqual([
        { id: '8', event: 'version', data: '{"seq":8}' },
        { id: '9', event: 'occurrence', data: '{"seq":\n9}' },
      ]);
      // An id without data moves the position a reconnect resumes from.
      expect(p.lastEventId).toBe('12');
    }
  });

  it('waits for the end of a message before returning it', () => {
    const p = new SseParser();
    expect(p.push('event: version\ndata: {}\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ id: undefined, event: 'version', data: '{}' }]);
  });

  it('names a message without an event field "message"', () => {
    expect(new SseParser().push('data:x\n\n')).toEqual([
      { id: undefined, event: 'message', data: 'x' },
    ]);
  });
});
