// Go duration strings ("300ms", "60s", "1h30m") as CNCF Distribution's config.yml writes them.
// Durations are parsed the way Go's time.ParseDuration does, in whole nanoseconds (BigInt) so
// that "1.1s" is exactly 1100 ms, and a bare YAML integer means nanoseconds, because that is
// how Go's YAML decoder fills a time.Duration. Pure text, here with the other shared formats:
// the configuration reads its durations with it, and auth the lifetimes of API tokens.

const NS_PER_UNIT: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // micro sign
  ['\u03bcs', 1_000n], // Greek small letter mu
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

// Go's time.Duration is an int64 of nanoseconds; anything larger is an error there too.
const MAX_NS = 2n ** 63n - 1n;

/** Thrown for text that is not a Go duration; the message says what is wrong. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
  /** What is wrong, without repeating the input (for messages that already show it). */
  readonly reason: string;

  constructor(text: string, reason: string) {
    super(`invalid duration ${JSON.stringify(text)}: ${reason}`);
    this.reason = reason;
  }
}

/**
 * Parses a Go duration string into nanoseconds. Accepts what time.ParseDuration accepts:
 * an optional sign, then one or more decimal numbers each followed by a unit
 * (ns, us, µs, ms, s, m, h), or "0" alone.
 */
export function parseDurationNs(text: string): bigint {
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') throw new DurationError(text, 'empty');

  let total = 0n;
  while (rest !== '') {
    const match = /^(\d*)(?:\.(\d*))?/.exec(rest);
    const whole = match?.[1] ?? '';
    const fraction = match?.[2] ?? '';
    if (whole === '' && fraction === '') throw new DurationError(text, 'expected a number followed by a unit');
    rest = rest.slice(match?.[0].length ?? 0);

    const unitMatch = /^[^\d.]+/.exec(rest);
    const unit = unitMatch?.[0] ?? '';
    if (unit === '') throw new DurationError(text, 'missing unit (ns, us, ms, s, m or h)');
    const scale = NS_PER_UNIT.get(unit);
    if (scale === undefined) {
      throw new DurationError(text, `unknown unit ${JSON.stringify(unit)}; use ns, us, ms, s, m or h`);
    }
    rest = rest.slice(unit.length);

    // Fractions are truncated to whole nanoseconds, as Go does.
    let value = BigInt(whole === '' ? '0' : whole) * scale;
    if (fraction !== '') {
      const denominator = 10n ** BigInt(fraction.length);
      value += (BigInt(fraction) * scale) / denominator;
    }
    total += value;
    if (total > MAX_NS) throw new DurationError(text, 'out of range (over 290 years)');
  }
  return negative ? -total : total;
}

/** Parses a Go duration string into milliseconds (fractional below 1 ms). */
export function parseDuration(text: string): number {
  return nsToMs(parseDurationNs(text));
}

/**
 * A duration as it appears in YAML or an environment variable: a string is a Go duration,
 * an integer (or a string of digits) is nanoseconds. Returns milliseconds.
 */
export function durationFromConfigValue(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new DurationError(String(value), 'a number without a unit must be whole nanoseconds');
    }
    return value / 1e6;
  }
  if (/^[+-]?\d+$/.test(value)) return nsToMs(BigInt(value));
  return parseDuration(value);
}

/** Formats milliseconds the way Go's Duration.String() does, e.g. 5400000 -> "1h30m0s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`cannot format duration ${String(ms)}`);
  let ns = BigInt(Math.round(ms * 1e6));
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  if (ns < 0n) ns = -ns;
  if (ns < 1_000n) return `${sign}${ns}ns`;
  if (ns < 1_000_000n) return `${sign}${decimal(ns, 1_000n)}\u00b5s`;
  if (ns < 1_000_000_000n) return `${sign}${decimal(ns, 1_000_000n)}ms`;
  const hours = ns / 3_600_000_000_000n;
  const minutes = (ns / 60_000_000_000n) % 60n;
  const seconds = decimal(ns % 60_000_000_000n, 1_000_000_000n);
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

function decimal(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const fraction = value % unit;
  if (fraction === 0n) return whole.toString();
  const digits = fraction
    .toString()
    .padStart(unit.toString().length - 1, '0')
    .replace(/0+$/, '');
  return `${whole}.${digits}`;
}

function nsToMs(ns: bigint): number {
  // Split so that large values keep their integral milliseconds exactly.
  const ms = ns / 1_000_000n;
  const rest = ns % 1_000_000n;
  return Number(ms) + Number(rest) / 1e6;
}
