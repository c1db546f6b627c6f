import { zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CodecError, decodeJson, encodeJson, FORMAT } from '../../src/recorder/codec.ts';
import { diff } from '../../src/recorder/diff.ts';
import { node, pod, type JsonObject } from './fixtures/objects.ts';

describe('encodeJson / decodeJson', () => {
  it('round-trips a Pod, compressed with zstd behind the 0x01 tag', () => {
    const value = pod();
    const buf = encodeJson(value);
    expect(buf[0]).toBe(FORMAT.zstdJson);
    // A zstd frame starts with its magic number 0xFD2FB528 (little-endian).
    expect([...buf.subarray(1, 5)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    expect(buf.length).toBeLessThan(JSON.stringify(value).length / 2);
    expect(decodeJson(buf)).toStrictEqual(value);
  });

  it('round-trips a small JSON patch', () => {
    const next = node('2026-11-22T00:45:03Z');
    ((next.status as { conditions: JsonObject[] }).conditions[0] as JsonObject).status = 'False';
    const ops = diff(node(), next);
    expect(ops.length).toBeGreaterThan(1);
    expect(decodeJson(encodeJson(ops))).toStrictEqual(ops);
  });

  it('stores tiny values uncompressed behind the 0x00 tag, where zstd would only add bytes', () => {
    const ops = [{ op: 'replace', path: '/status/phase', value: 'Running' }];
    const buf = encodeJson(ops);
    expect(buf[0]).toBe(FORMAT.json);
    expect(buf.subarray(1).toString('utf8')).toBe(JSON.stringify(ops));
    expect(decodeJson(buf)).toStrictEqual(ops);
    expect(decodeJson(encodeJson([]))).toStrictEqual([]);
  });

  it('stores values that do not compress uncompressed, and keeps non-ASCII text intact', () => {
    // Random-looking text longer than the compression threshold.
    let s = '';
    for (let i = 0; i < 40; i++) s += String.fromCharCode(0x4e00 + ((i * 7919) % 20000));
    const value = { message: s, emoji: '🚀 déploiement' };
    const buf = encodeJson(value);
    expect(buf[0]).toBe(FORMAT.json);
    expect(buf.length).toBe(Buffer.byteLength(JSON.stringify(value)) + 1);
    expect(decodeJson(buf)).toStrictEqual(value);
  });

  it('stores plain JSON when asked not to compress', () => {
    const buf = encodeJson(pod(), { compress: false });
    expect(buf[0]).toBe(FORMAT.json);
    expect(buf.subarray(1).toString('utf8')).toBe(JSON.stringify(pod()));
    expect(decodeJson(buf)).toStrictEqual(pod());
  });

  it('decodes from a plain Uint8Array view, as SQLite drivers may return', () => {
    const buf = encodeJson(pod());
    const copy = new Uint8Array(buf.length + 8);
    copy.set(buf, 8);
    expect(decodeJson(copy.subarray(8))).toStrictEqual(pod());
  });

  it('rejects an unknown format tag with a message naming it', () => {
    const raw = Buffer.from('{"a":1}');
    expect(() => decodeJson(raw)).toThrow(CodecError);
    expect(() => decodeJson(raw)).toThrow(/unknown format tag 0x7b/);
    expect(() => decodeJson(Buffer.from([0x02, 1, 2]))).toThrow(/unknown format tag 0x02/);
  });

  it('rejects empty, corrupt or truncated input with a CodecError', () => {
    expect(() => decodeJson(Buffer.alloc(0))).toThrow(/empty value/);
    const good = encodeJson(pod());
    expect(() => decodeJson(good.subarray(0, good.length - 10))).toThrow(CodecError);
    expect(() => decodeJson(Buffer.from([FORMAT.zstdJson, 1, 2, 3, 4]))).toThrow(
      /not a valid zstd frame/,
    );
    const notJson = Buffer.concat([Buffer.from([FORMAT.zstdJson]), zstdCompressSync('{nope')]);
    expect(() => decodeJson(notJson)).toThrow(/not valid JSON/);
    expect(() => decodeJson(Buffer.from([FORMAT.json, 0x7b]))).toThrow(CodecError);
  });

  it('refuses a value without a JSON form', () => {
    expect(() => encodeJson(undefined)).toThrow(CodecError);
  });
});
