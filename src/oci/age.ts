// Ages as lifecycle rules write them ("30d", "12h", "1d12h", "90m"): a Go duration with an
// optional leading number of days, because retention counts in days and Go's time.ParseDuration
// has no unit longer than an hour. A day is 24 hours. Pure text, shared by the configuration
// and the admin API so both accept exactly the same values.
import { DurationError, parseDuration } from './duration.js';

const MS_PER_DAY = 24 * 60 * 60 * 1000;

/**
 * Parses an age into milliseconds: "<days>d" optionally followed by a Go duration ("7d",
 * "1d12h"), or a Go duration alone ("36h"). Throws DurationError for anything else, for a
 * negative age and for zero (an age of nothing would delete everything at once).
 */
export function parseAge(text: string): number {
  const match = /^(\d+)d(.*)$/.exec(text);
  let ms: number;
  if (match) {
    const days = Number(match[1]);
    const rest = match[2] ?? '';
    ms = days * MS_PER_DAY + (rest === '' ? 0 : parseDuration(rest));
    if (rest.startsWith('-') || rest.startsWith('+')) throw new DurationError(text, 'a sign may only lead the whole age');
  } else {
    ms = parseDuration(text);
  }
  if (!Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) throw new DurationError(text, 'out of range');
  if (ms <= 0) throw new DurationError(text, 'must be more than zero, such as "30d" or "12h"');
  return ms;
}

/** Formats milliseconds as the shortest age parseAge reads back ("30d", "1d12h", "90m"). */
export function formatAge(ms: number): string {
  const days = Math.floor(ms / MS_PER_DAY);
  let rest = ms - days * MS_PER_DAY;
  const parts: string[] = days > 0 ? [`${days}d`] : [];
  const units: [string, number][] = [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.length === 0 ? '0s' : parts.join('');
}

/**
 * Parses a grace period: an age as parseAge reads it ("7d", "1h30m"), or zero ("0", "0s"),
 * which keeps nothing back.
 */
export function parseGracePeriod(text: string): number {
  if (/^0+(?:[a-zµ]+)?$/.test(text) && parseDuration(text === '0' ? '0s' : text) === 0) return 0;
  return parseAge(text);
}
