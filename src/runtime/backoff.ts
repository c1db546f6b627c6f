// Exponential backoff with jitter and per-key failure counters, after client-go's
// ItemExponentialFailureRateLimiter. Pure: the random source is injected, there are no timers.

/**
 * How a nominal delay d is spread: `none` waits exactly d, `equal` picks from [d/2, d], `full`
 * picks from [base, d]. No choice ever goes below the base or above the cap.
 */
export type Jitter = 'none' | 'equal' | 'full';

export interface BackoffOptions {
  /** Delay after the first failure, in ms. Default 500. */
  baseMs?: number;
  /** Largest delay, in ms. Default 5 minutes. */
  capMs?: number;
  /** Growth per failure. Default 2. */
  factor?: number;
  /** Default `equal`: keys that fail together (API server down) do not retry in lockstep. */
  jitter?: Jitter;
  /** Uniform in [0, 1), like Math.random (the default). */
  random?: () => number;
}

export const DEFAULT_BACKOFF = {
  baseMs: 500,
  capMs: 5 * 60_000,
  factor: 2,
  jitter: 'equal',
} as const satisfies BackoffOptions;

export class Backoff<K extends string = string> {
  readonly baseMs: number;
  readonly capMs: number;
  readonly factor: number;
  readonly jitter: Jitter;
  readonly #random: () => number;
  readonly #failures = new Map<K, number>();

  constructor(options: BackoffOptions = {}) {
    const { baseMs, capMs, factor, jitter } = { ...DEFAULT_BACKOFF, ...options };
    if (!(baseMs > 0 && Number.isFinite(baseMs))) {
      throw new RangeError(`backoff baseMs must be a positive number of ms, got ${baseMs}`);
    }
    if (!(capMs >= baseMs && Number.isFinite(capMs))) {
      throw new RangeError(`backoff capMs must be at least baseMs (${baseMs}), got ${capMs}`);
    }
    if (!(factor >= 1 && Number.isFinite(factor))) {
      throw new RangeError(`backoff factor must be a number of at least 1, got ${factor}`);
    }
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.factor = factor;
    this.jitter = jitter;
    this.#random = options.random ?? Math.random;
  }

  /** Delay before retry number `attempt` (0 for the first retry), jittered, within [base, cap]. */
  nextDelay(attempt: number): number {
    const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
    // A huge attempt overflows to Infinity, which the cap absorbs.
    const nominal = Math.min(this.capMs, this.baseMs * this.factor ** n);
    const low = this.jitter === 'full' ? this.baseMs : Math.max(this.baseMs, nominal / 2);
    if (this.jitter === 'none' || low >= nominal) return nominal;
    // Clamp: an injected source may return 1 (or more) where Math.random would not.
    const r = Math.min(1, Math.max(0, this.#random()));
    return Math.round(low + r * (nominal - low));
  }

  /** Records a failure of `key` and returns how long to wait before retrying it. */
  next(key: K): number {
    const attempt = this.failures(key);
    this.#failures.set(key, attempt + 1);
    return this.nextDelay(attempt);
  }

  /** Failures of `key` since it was last forgotten. */
  failures(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Resets `key` after a success, so its next failure waits the base delay again. */
  forget(key: K): void {
    this.#failures.delete(key);
  }
}
