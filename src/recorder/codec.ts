// Storage encoding of JSON values (snapshots and patches): one format-tag byte, then the payload.
// The tag lets the format change later (a dictionary, another codec) without rewriting history.
//
// Measured on Node 24.21 / zstd 1.5.7, 2-core EPYC, best of 15 runs (the machine was shared):
//   4.3 KB Pod:    level 1 → 1,730 B, 28 µs compress, 19 µs decompress
//                  level 3 → 1,702 B, 35 µs compress, 21 µs decompress
//   0.7 KB patch:  level 1 → 310 B, 19 µs;  level 3 → 309 B, 19 µs
// Level 3 saves under 2 % on snapshots and nothing on patches, so level 1. Most of that time was
// the fixed cost of a zlib call (a stream object and a native context per call, ~15 µs even for
// a few bytes), which zstd.ts removes by reusing one context per direction. Tiny payloads skip
// compression: below ~100 bytes zstd's frame overhead makes the output larger than the input
// anyway (59 B → 68 B).
import { Zstd } from './zstd.ts';

/** Format tags: the first byte of every encoded value. */
export const FORMAT = {
  /** UTF-8 JSON, uncompressed (values too small for compression to pay). */
  json: 0x00,
  /** A zstd frame of UTF-8 JSON. */
  zstdJson: 0x01,
} as const;

const zstd = new Zstd(1);

/** Below this many bytes of JSON, compression is not attempted. */
const MIN_COMPRESS_BYTES = 64;

/** A stored value that cannot be decoded. */
export class CodecError extends Error {
  override name = 'CodecError';
}

/**
 * Serializes and compresses a JSON value for storage. `compress: false` stores plain JSON (tag
 * 0x00): for a value read back on every change, such as an object's last state, decoding is
 * then one JSON.parse (~20 µs for a Pod) instead of zstd plus parse (~50 µs), at 2.5× the bytes.
 */
export function encodeJson(value: unknown, options?: { compress?: boolean }): Buffer {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new CodecError('Cannot encode a value that has no JSON form');
  if (options?.compress !== false && text.length >= MIN_COMPRESS_BYTES) {
    const compressed = zstd.compress(Buffer.from(text, 'utf8'));
    // text.length counts UTF-16 units, a lower bound of the UTF-8 byte length.
    if (compressed.length < text.length) return tagged(FORMAT.zstdJson, compressed);
  }
  const out = Buffer.allocUnsafe(1 + Buffer.byteLength(text));
  out[0] = FORMAT.json;
  out.write(text, 1);
  return out;
}

function tagged(tag: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + payload.length);
  out[0] = tag;
  payload.copy(out, 1);
  return out;
}

/** Decodes what `encodeJson` produced. Throws CodecError on an unknown format or corrupt data. */
export function decodeJson(buf: Uint8Array): unknown {
  if (buf.length === 0) throw new CodecError('Cannot decode an empty value: no format tag');
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const tag = b[0];
  let text: string;
  if (tag === FORMAT.zstdJson) {
    try {
      text = zstd.decompress(b.subarray(1)).toString('utf8');
    } catch (err) {
      throw new CodecError('Stored value is not a valid zstd frame; the data is corrupt', {
        cause: err,
      });
    }
  } else if (tag === FORMAT.json) {
    text = b.toString('utf8', 1);
  } else {
    throw new CodecError(
      `Stored value has unknown format tag 0x${(tag ?? 0).toString(16).padStart(2, '0')}; ` +
        'it was written by a newer Hindsight or is corrupt: run the version that wrote it',
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CodecError('Stored value is not valid JSON; the data is corrupt', { cause: err });
  }
}
