// The validation section of the configuration schema: which children of a pushed index must
// already be in the repository (validation.manifests.indexes, as Distribution 3 reads it).
import { z } from 'zod';
import { section, setting } from './setting.js';

/** validation.manifests.indexes.platforms: which child manifests of a pushed index must exist. */
export type IndexPlatforms = 'all' | 'none' | 'list';

export interface ValidationConfig {
  manifests: { indexes: { platforms: IndexPlatforms; platformlist: { architecture: string; os: string }[] } };
}

export const validationSection = section({
  manifests: section({
    indexes: section({
      platforms: setting(z.enum(['all', 'none', 'list']).prefault('all'), {
        kind: 'enum',
        origin: 'distribution',
        description:
          'Which child manifests of a pushed index (or Docker manifest list) must already be in the repository: all; none (an index may name children the registry does not hold, as a mirror that keeps only some platforms needs); or list (only children whose platform matches an entry of validation.manifests.indexes.platformlist; an empty list means all, as in Distribution). A pull of a child that is not there gets 404.',
        expected: 'one of all, none, list',
        defaultText: 'all',
      }),
      platformlist: setting(z.array(z.strictObject({ architecture: z.string().min(1), os: z.string().min(1) })).default([]), {
        kind: 'structured',
        origin: 'distribution',
        description:
          "With platforms: list, the platforms whose children must exist, each {architecture, os} (compared with the child descriptor's platform; a variant is not compared, and a child without a platform is not required).",
        expected: 'a list such as [{architecture: amd64, os: linux}]',
        defaultText: 'none',
      }),
    }),
  }),
});

export function toValidationConfig(validation: z.output<typeof validationSection>): ValidationConfig {
  return {
    manifests: {
      indexes: {
        platforms: validation.manifests.indexes.platforms,
        platformlist: validation.manifests.indexes.platformlist.map(({ architecture, os }) => ({ architecture, os })),
      },
    },
  };
}
