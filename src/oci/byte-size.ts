// Byte sizes as people write them in quotas: a whole number of bytes (10737418240), or a number
// with a unit (10GiB, 1.5 TB, 512MiB). Binary units (KiB, MiB, GiB, TiB, PiB) count in 1024s,
// decimal ones (kB, MB, GB, TB, PB) in 1000s, as the IEC and SI prefixes mean; a bare "K", "M",
// "G" or "T" is binary (as Kubernetes' "Gi" and most people's "10G" mean). And back: sizes
// printed for people in binary units with one decimal ("9.8 GiB"), as quota messages show them.

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
  ki: 2 ** 10,
  mi: 2 ** 20,
  gi: 2 ** 30,
  ti: 2 ** 40,
  pi: 2 ** 50,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
};

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/;

/**
 * The number of bytes a size names, rounded down to a whole byte; undefined when the text is
 * not a size (negative, unknown unit, or beyond what a double holds exactly).
 */
export function parseByteSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const match = SIZE.exec(value);
  if (!match) return undefined;
  const unit = UNITS[(match[2] ?? '').toLowerCase() || 'b'];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** A size for people: "512 B", "1.5 KiB", "9.8 GiB", "10 GiB" (one decimal, none when whole). */
export function formatByteSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BINARY.length - 1) {
    value /= 1024;
    unit++;
  }
  // Rounded down, so a namespace just under its quota never reads as "10 GiB of 10 GiB".
  const shown = unit === 0 ? value : Math.floor(value * 10) / 10;
  return `${Number.isInteger(shown) ? shown.toFixed(0) : shown.toFixed(1)} ${BINARY[unit]}`;
}
