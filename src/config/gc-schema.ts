// The garbage-collection section of the configuration schema (Berth's own keys: Distribution
// collects garbage only offline, with `registry garbage-collect`). Off by default, as
// Distribution users expect: nothing is deleted unless asked.
import { z } from 'zod';
import { duration, section, setting } from './setting.js';

export interface GcConfig {
  /** How often the scheduled run starts; 0: never (run `berth gc` or the admin API instead). */
  intervalMs: number;
  /** Anything written more recently than this stays. */
  graceMs: number;
  /** Scheduled runs also remove manifests no tag, kept index or kept subject reaches. */
  deleteUntagged: boolean;
  /** Scheduled runs only report what they would delete. */
  dryRun: boolean;
}

export const gcSection = section({
  interval: duration({
    defaultText: '0s',
    minMs: 0,
    minText: '0s',
    info: {
      origin: 'berth',
      description:
        'How often garbage collection runs on its own (one replica at a time); 0s: never, run `berth gc` or POST /api/v1/gc/runs instead.',
    },
  }),
  grace: duration({
    defaultText: '1h',
    minMs: 0,
    minText: '0s',
    info: {
      origin: 'berth',
      description:
        'Anything pushed, linked or written more recently than this is kept by garbage collection (and by `berth gc` unless --grace is given). Keep it longer than your slowest push.',
    },
  }),
  deleteuntagged: setting(z.boolean().default(false), {
    kind: 'boolean',
    origin: 'berth',
    description:
      "Scheduled runs also delete manifests that no tag, no kept index and no kept subject (signatures, SBOMs) reaches, as Distribution's `garbage-collect --delete-untagged`.",
    expected: 'true or false',
    defaultText: 'false',
  }),
  dryrun: setting(z.boolean().default(false), {
    kind: 'boolean',
    origin: 'berth',
    description: 'Scheduled runs only log and record what they would delete.',
    expected: 'true or false',
    defaultText: 'false',
  }),
});

export function toGcConfig(gc: z.output<typeof gcSection>): GcConfig {
  return { intervalMs: gc.interval, graceMs: gc.grace, deleteUntagged: gc.deleteuntagged, dryRun: gc.dryrun };
}
