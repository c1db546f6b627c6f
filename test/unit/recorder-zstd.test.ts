import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { frameLayout, Zstd, ZstdError } from '../../src/recorder/zstd.ts';
import { pod } from './fixtures/objects.ts';

const LEVEL = constants.ZSTD_c_compressionLevel;

describe('Zstd with reused contexts', () => {
  const zstd = new Zstd(1);
  const text = (n: number) => Buffer.from(JSON.stringify({ ...pod(), n }));

  it('writes the frames node:zlib writes at its level, call after call, and reads them', () => {
    for (let i = 0; i < 50; i++) {
      const input = text(i);
      const frame = zstd.compress(input);
      expect(frame.equals(zstdCompressSync(input, { params: { [LEVEL]: 1 } }))).toBe(true);
      expect(frame.equals(new Zstd(19).compress(input))).toBe(false);
      expect(zstdDecompressSync(frame).equals(input)).toBe(true);
      expect(zstd.decompress(frame).equals(input)).toBe(true);
      expect(zstd.decompress(zstdCompressSync(input)).equals(input)).toBe(true);
      expect(frame.length).toBeLessThan(input.length / 2);
    }
  });

  it('handles values larger than its first output buffer', () => {
    let s = '';
    for (let i = 0; i < 20_000; i++) s += `${(i * 2654435761) % 4294967296},`;
    const input = Buffer.from(s);
    expect(input.length).toBeGreaterThan(64 * 1024);
    const frame = zstd.compress(input);
    expect(zstd.decompress(frame).equals(input)).toBe(true);
  });

  it('reads the content size a frame declares and the bytes it spans', () => {
    let noise = '';
    for (let i = 0; i < 40_000; i++) noise += `${(i * 2654435761) % 4294967296},`;
    for (const input of [
      ...[0, 1, 200, 255, 256, 5000, 70_000, 300_000].map((n) => Buffer.alloc(n, 'a')),
      Buffer.from(noise),
    ]) {
      const frame = zstdCompressSync(input);
      expect(frameLayout(frame)).toStrictEqual({
        contentSize: input.length,
        frameBytes: frame.length,
      });
      expect(frameLayout(frame.subarray(0, frame.length - 1))?.frameBytes).toBeNull();
    }
    expect(frameLayout(Buffer.from('not a frame'))).toBeNull();
  });

  it('rejects truncated, corrupt and over-long frames, and keeps working after them', () => {
    const input = text(1);
    const frame = zstd.compress(input);
    expect(() => zstd.decompress(frame.subarray(0, frame.length - 10))).toThrow(ZstdError);
    const reservedBit = Buffer.from(frame);
    reservedBit[4] = (reservedBit[4] ?? 0) | 0x08;
    expect(() => zstd.decompress(reservedBit)).toThrow(ZstdError);
    expect(() => zstd.decompress(Buffer.concat([frame, frame]))).toThrow(ZstdError);
    expect(() => zstd.decompress(Buffer.from([1, 2, 3, 4]))).toThrow(ZstdError);
    expect(zstd.decompress(frame).equals(input)).toBe(true);
  });
});
