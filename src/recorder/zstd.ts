// zstd with long-lived contexts. node:zlib's synchronous functions build a stream and a native
// zstd context for every call and free them after it: for the 0.3–5 KB values the recorder
// stores, that set-up is most of the cost (43 µs → 7 µs per 4 KB compression, measured on Node
// 24.21, 2-core EPYC). Node offers no public API to reuse a context synchronously, so this drives
// the native handle of one ZstdCompress and one ZstdDecompress stream the way node:zlib's own
// synchronous path does (`handle.writeSync` and the `_writeState` it reports into). A context
// that ended a frame starts the next one with the same parameters; one that failed mid-frame is
// dropped (the handle's reset would also reset the compression level). Frames are standard:
// either side decodes the other's.
//
// If those internals are missing or misbehave (another Node version), a self-test at first use
// fails and every call goes through the public functions instead: slower, never wrong.
import * as zlib from 'node:zlib';

const { constants, zstdCompressSync, zstdDecompressSync } = zlib;

interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  onerror: (message: string, errno: number, code: string) => void;
}

interface Engine {
  stream: zlib.ZstdCompress | zlib.ZstdDecompress;
  handle: NativeHandle;
  /** [available output, available input] after the last writeSync. */
  state: Uint32Array;
  /** Set by the native side during writeSync when zstd reports an error. */
  error: Error | null;
}

/** The internals node:zlib's synchronous path uses; null when this Node does not have them. */
function engineOf(stream: zlib.ZstdCompress | zlib.ZstdDecompress): Engine | null {
  const s = stream as unknown as { _handle?: unknown; _writeState?: unknown };
  const handle = s._handle as Partial<NativeHandle> | undefined;
  if (
    typeof handle?.writeSync !== 'function' ||
    typeof handle.onerror !== 'function' ||
    !(s._writeState instanceof Uint32Array)
  ) {
    stream.close();
    return null;
  }
  const engine: Engine = {
    stream,
    handle: handle as NativeHandle,
    state: s._writeState,
    error: null,
  };
  // node:zlib's own handler destroys the stream; an engine that failed is dropped instead.
  engine.handle.onerror = (message, errno, code) => {
    engine.error = Object.assign(new Error(message), { errno, code });
  };
  return engine;
}

/** Thrown for input that is not a complete, valid zstd frame. */
export class ZstdError extends Error {
  override name = 'ZstdError';
}

const ZSTD_MAGIC = 0xfd2fb528;
/** Largest value decompressed into one buffer; bigger frames go through the public function. */
const MAX_DIRECT = 64 * 1024 * 1024;

interface FrameLayout {
  /** Decompressed size the header declares; null when it declares none. */
  contentSize: number | null;
  /** Bytes of the whole frame, walking its block headers; null when they run past the input. */
  frameBytes: number | null;
}

/** Reads a zstd frame's header and block headers (RFC 8878 §3.1.1); null when it is not one. */
export function frameLayout(frame: Uint8Array): FrameLayout | null {
  if (frame.length < 6) return null;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint32(0, true) !== ZSTD_MAGIC) return null;
  const fhd = frame[4] ?? 0;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const checksumBytes = (fhd >> 2) & 1 ? 4 : 0;
  const dictIdBytes = [0, 1, 2, 4][fhd & 3] ?? 0;
  const fcsBytes = fcsFlag === 0 ? singleSegment : ([1, 2, 4, 8][fcsFlag] ?? 0);
  const at = 5 + (singleSegment ? 0 : 1) + dictIdBytes;
  let pos = at + fcsBytes;
  if (pos > frame.length) return null;
  let contentSize: number | null = null;
  if (fcsBytes === 1) contentSize = view.getUint8(at);
  else if (fcsBytes === 2) contentSize = view.getUint16(at, true) + 256;
  else if (fcsBytes === 4) contentSize = view.getUint32(at, true);
  else if (fcsBytes === 8) {
    const n = view.getBigUint64(at, true);
    contentSize = n > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(n);
  }
  for (;;) {
    if (pos + 3 > frame.length) return { contentSize, frameBytes: null };
    const header = view.getUint16(pos, true) | (view.getUint8(pos + 2) << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    // Raw and compressed blocks carry `size` bytes, an RLE block one byte.
    pos += 3 + (type === 1 ? 1 : size);
    if (last) break;
  }
  pos += checksumBytes;
  return { contentSize, frameBytes: pos <= frame.length ? pos : null };
}

/** A zstd compressor and decompressor at a fixed level, each with one reused native context. */
export class Zstd {
  private readonly level: number;
  private cctx: Engine | null = null;
  private dctx: Engine | null = null;
  private scratch = Buffer.allocUnsafe(64 * 1024);
  /** null until the first call has checked the fast path; false when it is not usable. */
  private fast: boolean | null = null;

  constructor(level: number) {
    this.level = level;
  }

  compress(input: Buffer): Buffer {
    if (this.fast ?? this.selfTest()) {
      try {
        return this.compressFast(input);
      } catch {
        this.cctx?.stream.close();
        this.cctx = null;
      }
    }
    return zstdCompressSync(input, this.options());
  }

  /** Decompresses one frame; throws ZstdError when it is corrupt or truncated. */
  decompress(frame: Buffer): Buffer {
    const layout = frameLayout(frame);
    const size = layout?.contentSize ?? null;
    if (size !== null && size <= MAX_DIRECT && (this.fast ?? this.selfTest())) {
      // Checked here because the native handle does not say whether the frame ended.
      if (layout?.frameBytes !== frame.length) {
        throw new ZstdError(
          layout?.frameBytes === null
            ? 'zstd frame is truncated'
            : 'zstd frame is followed by other data',
        );
      }
      return this.decompressFast(frame, size);
    }
    try {
      return zstdDecompressSync(frame);
    } catch (err) {
      throw new ZstdError((err as Error).message, { cause: err });
    }
  }

  private options(): zlib.ZstdOptions {
    return { params: { [constants.ZSTD_c_compressionLevel]: this.level } };
  }

  private compressor(): Engine | null {
    this.cctx ??= engineOf(new zlib.ZstdCompress(this.options()));
    return this.cctx;
  }

  private decompressor(): Engine | null {
    this.dctx ??= engineOf(new zlib.ZstdDecompress());
    return this.dctx;
  }

  private compressFast(input: Buffer): Buffer {
    const e = this.compressor();
    if (!e) throw new ZstdError('no native zstd context');
    // Room for the worst case (zstd's compress bound), so one call normally ends the frame.
    const bound = input.length + (input.length >> 7) + 128;
    if (this.scratch.length < bound) this.scratch = Buffer.allocUnsafe(bound);
    const out = this.scratch;
    const parts: Buffer[] = [];
    let inOff = 0;
    let inLen = input.length;
    for (;;) {
      e.handle.writeSync(constants.ZSTD_e_end, input, inOff, inLen, out, 0, out.length);
      if (e.error) throw e.error;
      const availOut = e.state[0] ?? 0;
      const availIn = e.state[1] ?? 0;
      parts.push(Buffer.from(out.subarray(0, out.length - availOut)));
      inOff += inLen - availIn;
      inLen = availIn;
      // Output space left over means the frame is complete.
      if (availOut !== 0) break;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  private decompressFast(frame: Buffer, size: number): Buffer {
    const e = this.decompressor();
    if (!e) return zstdDecompressSync(frame);
    // One byte more than declared, to notice a frame that yields more than it says.
    const out = Buffer.allocUnsafe(size + 1);
    e.handle.writeSync(constants.ZSTD_e_end, frame, 0, frame.length, out, 0, out.length);
    const err = e.error;
    const produced = out.length - (e.state[0] ?? 0);
    const leftover = e.state[1] ?? 0;
    if (err || produced !== size || leftover !== 0) {
      // The context may be mid-frame: drop it rather than trust a reset.
      e.stream.close();
      this.dctx = null;
    }
    if (err) throw new ZstdError(err.message, { cause: err });
    if (produced !== size || leftover !== 0) {
      throw new ZstdError(
        `zstd frame is truncated or malformed: ${produced} bytes of the ${size} it declares` +
          (leftover ? `, ${leftover} bytes left over` : ''),
      );
    }
    return out.subarray(0, size);
  }

  /** Checks the fast path against node:zlib's public functions once, both ways. */
  private selfTest(): boolean {
    let ok: boolean;
    try {
      const sample = Buffer.from(JSON.stringify({ probe: 'zstd context reuse', n: [1, 2, 3] }));
      const a = this.compressFast(sample);
      const b = this.compressFast(sample);
      const ref = zstdCompressSync(sample, this.options());
      const layout = frameLayout(ref);
      const size = layout?.contentSize ?? -1;
      // Equal to node:zlib's frame also proves the compression level was applied.
      ok =
        a.equals(ref) &&
        b.equals(ref) &&
        size === sample.length &&
        layout?.frameBytes === ref.length &&
        zstdDecompressSync(a).equals(sample) &&
        this.decompressFast(ref, size).equals(sample) &&
        this.decompressFast(ref, size).equals(sample);
    } catch {
      ok = false;
    }
    this.fast = ok;
    return ok;
  }
}
