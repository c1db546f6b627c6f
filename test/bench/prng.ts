// A small seeded PRNG, so every run of the benchmark feeds byte-identical workloads and figures
// from two machines or two commits compare the same data. Never Math.random.

/** sfc32 (Chris Doty-Humphrey's Small Fast Counter): fast, 128-bit state, good enough statistics. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` and any further numbers are mixed into the state: `new Prng(seed, podIndex)`. */
  constructor(...seed: number[]) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = 1;
    for (const s of seed) {
      this.a ^= s >>> 0;
      this.b ^= Math.floor(s / 0x100000000) >>> 0;
      // Warm-up rounds so that nearby seeds give unrelated streams.
      for (let i = 0; i < 12; i++) this.next();
    }
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + (this.next() % (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.next() % items.length];
    if (item === undefined) throw new Error('Prng.pick needs a non-empty list');
    return item;
  }

  /** `n` lowercase hex digits (container IDs, image digests, uids). */
  hex(n: number): string {
    let s = '';
    while (s.length < n) s += this.next().toString(16).padStart(8, '0');
    return s.slice(0, n);
  }

  /** `n` characters from Kubernetes' generateName alphabet (no vowels, no look-alikes). */
  suffix(n: number): string {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.next() % alphabet.length];
    return s;
  }

  /** An RFC 4122 version-4 shaped uid. */
  uid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
  }
}
