// Durations and byte sizes as people write them in flags and custom resources.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration such as `336h`, `90m`, `1h30m`, `500ms` or `14d` into milliseconds (> 0). */
export function parseDuration(text: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 && Number.isFinite(total) && total > 0
    ? total
    : null;
}

const UNIT_BYTES: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** Parses a byte size in Kubernetes quantity style: `500Mi`, `10Gi`, `2G`, `1048576`. */
export function parseBytes(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text);
  if (!m) return null;
  const n = Math.floor(Number(m[1]) * (UNIT_BYTES[m[2] ?? ''] ?? NaN));
  return Number.isFinite(n) && n > 0 ? n : null;
}
