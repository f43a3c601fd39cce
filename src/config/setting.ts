// The building blocks of the configuration schema: a setting (a leaf key with its kind, origin,
// description and default for docs and messages), a section (a strict mapping of settings that
// gets its defaults even when absent) and a duration setting read as Go reads it.
import { z } from 'zod';
import { durationFromConfigValue, DurationError } from '../oci/duration.js';

/** How a raw YAML or environment string is turned into a typed value before validation. */
// list: a YAML list of strings, or one comma-separated string (how an environment variable
// gives a list); structured: a YAML value of its own shape (an environment variable holds YAML).
export type SettingKind = 'string' | 'enum' | 'boolean' | 'integer' | 'duration' | 'list' | 'structured';

export interface SettingInfo {
  kind: SettingKind;
  /** 'distribution' when CNCF Distribution has the same key with the same meaning. */
  origin: 'distribution' | 'berth';
  description: string;
  /** What a valid value looks like, used in error messages: "expected <this>, got ...". */
  expected: string;
  /** The default as a user would write it (for docs and `berth config check`). */
  defaultText: string;
}

/** Setting metadata, keyed by the exact schema instance stored in the parent's shape. */
export const settingInfo = z.registry<SettingInfo>();

export function setting<T extends z.ZodType>(schema: T, info: SettingInfo): T {
  const described = schema.meta({ description: info.description });
  settingInfo.add(described, info);
  return described;
}

/** `got ...` part of a message: short, and never dumps a whole mapping. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

export function expectedGot(expected: string, input: unknown, detail?: string): string {
  return `expected ${expected}, got ${describeValue(input)}${detail === undefined ? '' : ` (${detail})`}`;
}

// A section: unknown keys are rejected, and a missing section still gets its defaults
// (zod 4's prefault parses {} through the object; default would skip the inner defaults).
// TypeScript cannot see that {} is a valid input of a generic shape; the defaults test proves
// it at run time for every section.
export function section<T extends z.core.$ZodLooseShape>(shape: T) {
  const object = z.strictObject(shape);
  return object.prefault({} as z.input<typeof object>);
}

const DURATION_EXAMPLES = 'a Go duration such as "300ms", "60s", "5m" or "1h30m"';

// A duration as Go's YAML decoder accepts it (string, or integer nanoseconds), returned in whole
// milliseconds, rounded up so that a tiny non-zero duration never becomes 0 (a busy loop).
export function duration(opts: {
  defaultText: string;
  minMs: number;
  minText: string;
  info: Omit<SettingInfo, 'kind' | 'expected' | 'defaultText'>;
}) {
  const expected = opts.minMs > 0 ? `${DURATION_EXAMPLES}, at least ${opts.minText}` : DURATION_EXAMPLES;
  const schema = z
    .union([z.string(), z.int().min(0)])
    .transform((value, ctx) => {
      let ms: number;
      try {
        ms = durationFromConfigValue(value);
      } catch (error) {
        if (!(error instanceof DurationError)) throw error;
        ctx.issues.push({ code: 'custom', input: value, message: expectedGot(expected, value, error.reason) });
        return z.NEVER;
      }
      if (ms < opts.minMs || ms < 0) {
        const detail = typeof value === 'number' ? 'a bare number is nanoseconds' : undefined;
        ctx.issues.push({ code: 'custom', input: value, message: expectedGot(expected, value, detail) });
        return z.NEVER;
      }
      return Math.ceil(ms);
    })
    .prefault(opts.defaultText);
  return setting(schema, { ...opts.info, kind: 'duration', expected, defaultText: opts.defaultText });
}
