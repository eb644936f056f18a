/**
 * Go durations (`1m30s`, `500ms`), as Docker and the docker provider take them.
 *
 * The provider reads a service's durations back as `shortDur(time.Duration.String())`: `90s` is
 * read back as `1m30s` and `1h0m0s` as `1h`. A declared value in any other spelling differs from
 * state after every refresh, so components send `shortDuration(parseGoDuration(x))`.
 *
 * No imports: usable from anywhere (dynamic providers included).
 */

const UNITS_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3,
  "\u03bcs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Go's `time.ParseDuration` for non-negative values, in nanoseconds; undefined when `text` is not
 * a duration ("2s", "1m30s", "500ms", "1.5h", "0").
 */
export function parseGoDuration(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  let rest = text.startsWith("+") ? text.slice(1) : text;
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/;
  while (rest.length > 0) {
    const match = part.exec(rest);
    if (!match) return undefined;
    total += parseFloat(match[1]) * UNITS_NS[match[2]];
    rest = rest.slice(match[0].length);
  }
  // Go rejects durations beyond int64 nanoseconds (about 292 years).
  return Number.isFinite(total) && total <= 9.2e18 ? Math.round(total) : undefined;
}

/** `v` with its fraction (of `digits` decimal places) trimmed of trailing zeros, like Go's fmtFrac. */
function withFraction(whole: bigint, fraction: bigint, digits: number): string {
  if (fraction === 0n) return whole.toString();
  const text = fraction.toString().padStart(digits, "0").replace(/0+$/, "");
  return `${whole}.${text}`;
}

/** Go's `time.Duration.String()` for a non-negative whole number of nanoseconds. */
export function goDurationString(nanoseconds: number): string {
  const d = BigInt(Math.round(nanoseconds));
  if (d === 0n) return "0s";
  if (d < 1000n) return `${d}ns`;
  if (d < 1_000_000n) return `${withFraction(d / 1000n, d % 1000n, 3)}\u00b5s`;
  if (d < 1_000_000_000n) return `${withFraction(d / 1_000_000n, d % 1_000_000n, 6)}ms`;
  const seconds = d / 1_000_000_000n;
  const fraction = d % 1_000_000_000n;
  const s = `${withFraction(seconds % 60n, fraction, 9)}s`;
  const minutes = seconds / 60n;
  if (minutes === 0n) return s;
  const m = `${minutes % 60n}m`;
  const hours = minutes / 60n;
  return hours === 0n ? `${m}${s}` : `${hours}h${m}${s}`;
}

/** The provider's `shortDur`: Go's String() without a trailing `0s` after minutes or `0m` after hours. */
export function shortDuration(nanoseconds: number): string {
  let s = goDurationString(nanoseconds);
  if (s.endsWith("m0s")) s = s.slice(0, -2);
  if (s.endsWith("h0m")) s = s.slice(0, -2);
  return s;
}
