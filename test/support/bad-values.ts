// Bad parameter values for fuzzing the API: the inputs a careless or hostile caller sends, as
// fast-check arbitraries. A value is either text (percent-encoded by the sender) or raw (put in
// the URL as it is, for broken percent-encodings and unencoded traversals).
import fc from 'fast-check';

export interface BadValue {
  text: string;
  /** Put into the URL verbatim rather than percent-encoded. */
  raw?: boolean;
}

export const LONG = 'x'.repeat(100_000);
/** Long, yet short enough for the HTTP parser to pass it on to the API (see MAX_HEAD_BYTES). */
export const LONG_BELOW_LIMIT = 'y'.repeat(12_000);

/** Values every parameter gets, before any random ones. */
export const NAMED: readonly BadValue[] = [
  '',
  ' ',
  LONG,
  LONG_BELOW_LIMIT,
  '\u0000',
  'a\u0000b',
  '\r\n\t\u0007\u001b[31m\u007f',
  '😀👩‍👩‍👧\u202e\ufeff\uffff',
  'NaN',
  'Infinity',
  '-1',
  '-9007199254740993',
  '9'.repeat(400),
  '1e309',
  '0x1F',
  '1.5',
  '2026-13-45T99:99:99Z',
  '2026-02-30T25:61:00+99:99',
  '-99999999999999d',
  "' OR 1=1 --",
  "'; DROP TABLE versions; --",
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
].map((text) => ({ text }));

/** Raw URL fragments: invalid percent-encodings, an encoded NUL, unencoded and encoded traversals. */
export const RAW: readonly BadValue[] = [
  '%',
  '%zz',
  '%E0%A4%A',
  '%FF%FE',
  '%00',
  '%C0%AE%C0%AE%2F',
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..%252F..%252Fetc%252Fpasswd',
  '..\\..\\windows\\win.ini',
  '+',
  ';',
].map((text) => ({ text, raw: true }));

const FIXED = [
  '0',
  '-0',
  '-Infinity',
  '1 ',
  ' 1',
  'true ',
  'TRUE',
  'null',
  'undefined',
  '[]',
  '{}',
  '[object Object]',
  '__proto__',
  'constructor',
  '8640000000000001',
  '999999999999999',
  '0000-01-01T00:00:00Z',
  '275760-09-13T00:00:01Z',
  '2026-11-22',
  '2026-11-22T10:00:00',
  'now ',
  'NOW',
  'yesterday',
  '1h',
  '+1h',
  '--1h',
  '-',
  '-1x',
  '-1e400h',
  '" OR ""="',
  "%' OR '1'='1",
  '1; SELECT * FROM sqlite_master',
  '1 UNION SELECT body FROM versions',
  '/etc/passwd',
  '....//....//etc/passwd',
  'a=b,c!=d,e in (',
  '${jndi:ldap://example.invalid/a}',
  '<script>alert(1)</script>',
];

const CONTROL = fc.constantFrom(
  ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)),
  '\u007f',
  '\u0085',
  '\u2028',
  '\ud83d\ude00',
);

/** A time with pieces out of range. */
const badTime = fc
  .tuple(
    fc.integer({ min: -1, max: 300_000 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 99 }),
    fc.constantFrom('Z', '+99:99', '-00:00', '', 'z'),
  )
  .map(
    ([y, mo, d, h, zone]) =>
      `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00${zone}`,
  );

const text = fc.oneof(
  { arbitrary: fc.constantFrom(...FIXED), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: CONTROL, minLength: 1, maxLength: 8 }), weight: 1 },
  { arbitrary: fc.integer().map(String), weight: 1 },
  { arbitrary: fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String), weight: 1 },
  { arbitrary: fc.double().map(String), weight: 1 },
  { arbitrary: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map((n) => `-${n}h`), weight: 1 },
  { arbitrary: badTime, weight: 2 },
  { arbitrary: fc.string({ minLength: 300, maxLength: 20_000 }), weight: 1 },
);

/** Random bad values; the named ones and raw fragments among them. */
export const badValue: fc.Arbitrary<BadValue> = fc.oneof(
  { arbitrary: text.map((t) => ({ text: t })), weight: 6 },
  { arbitrary: fc.constantFrom(...NAMED), weight: 1 },
  { arbitrary: fc.constantFrom(...RAW), weight: 1 },
);

/** Names of parameters no endpoint declares (the caller filters out the declared ones). */
export const unknownName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'LIMIT', 'a[b]', 'q', ''),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);

/** `text` in a URL: percent-encoded, unless it is raw. Lone surrogates cannot be, so become U+FFFD. */
export function inUrl(v: BadValue): string {
  return v.raw ? v.text : encodeURIComponent(v.text.toWellFormed());
}

/** `text` as a header value: what an HTTP client can send at all (no NUL, CR or LF, Latin-1). */
export function inHeader(v: BadValue): string {
  return v.text.replace(/[^\t\u0020-\u007e\u0080-\u00ff]/g, '?');
}
