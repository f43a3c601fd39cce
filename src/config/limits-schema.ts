// The limits section of the configuration schema (Berth's own): sizes, page sizes, concurrency,
// connection and body deadlines, and the memory budget for request bodies, with the checks
// that relate two of them.
import { z } from 'zod';
import { duration, expectedGot, setting } from './setting.js';

export interface LimitsConfig {
  manifestMaxBytes: number;
  paginationMaxEntries: number;
  catalogDefaultEntries: number;
  maxTagsPerPush: number;
  maxConcurrentRequests: number;
  idleTimeoutMs: number;
  headersTimeoutMs: number;
  bodyMemoryBytes: number;
  bodyTimeoutMs: number;
  bodyMinRate: number;
}

export const limitsSection = z
  .strictObject({
    manifestmaxbytes: setting(
      z
        .int()
        .min(1)
        .default(4 * 1024 * 1024),
      {
        kind: 'integer',
        origin: 'berth',
        description: 'Largest manifest accepted on push, in bytes; a larger manifest is refused.',
        expected: 'a whole number of bytes, at least 1',
        defaultText: '4194304',
      },
    ),
    paginationmaxentries: setting(z.int().min(1).default(1000), {
      kind: 'integer',
      origin: 'berth',
      description: 'Largest page size (n) a client may ask for on the catalog and tag list; a larger n gets 400.',
      expected: 'a whole number, at least 1',
      defaultText: '1000',
    }),
    catalogdefaultentries: setting(z.int().min(1).default(100), {
      kind: 'integer',
      origin: 'berth',
      description: 'Page size of the catalog when the client gives no n.',
      expected: 'a whole number, at least 1',
      defaultText: '100',
    }),
    maxtagsperpush: setting(z.int().min(1).max(1000).default(16), {
      kind: 'integer',
      origin: 'berth',
      description: 'Most tags one manifest PUT may set with ?tag= parameters; more get 400.',
      expected: 'a whole number from 1 to 1000',
      defaultText: '16',
    }),
    maxconcurrentrequests: setting(z.int().min(0).default(0), {
      kind: 'integer',
      origin: 'berth',
      description:
        'Requests served at once; more get 429 TOOMANYREQUESTS with Retry-After, so an overloaded replica sheds load instead of queueing. 0 means no limit.',
      expected: 'a whole number, 0 for no limit',
      defaultText: '0',
    }),
    idletimeout: duration({
      defaultText: '2m',
      minMs: 1,
      minText: '1ms',
      info: {
        origin: 'berth',
        description:
          'A connection on which nothing is sent or received for this long is closed, so stalled clients do not hold uploads and sockets forever.',
      },
    }),
    headerstimeout: duration({
      defaultText: '30s',
      minMs: 1,
      minText: '1ms',
      info: { origin: 'berth', description: 'Time a client has to send the complete request headers.' },
    }),
    bodymemory: setting(
      z
        .int()
        .min(1024 * 1024)
        .default(128 * 1024 * 1024),
      {
        kind: 'integer',
        origin: 'berth',
        description:
          'Most bytes the registry holds in memory for requests at once, all requests together: manifests and admin or token bodies being received, chunks checked before they are stored, upload staging buffers. A request that needs more gets 429 TOOMANYREQUESTS with Retry-After.',
        expected: 'a whole number of bytes, at least 1048576 and at least limits.manifestmaxbytes',
        defaultText: '134217728',
      },
    ),
    bodytimeout: duration({
      defaultText: '30s',
      minMs: 1,
      minText: '1ms',
      info: {
        origin: 'berth',
        description:
          'Period over which a request body must keep arriving at limits.bodyminrate; a slower body is cut off with 408 and its connection closed.',
      },
    }),
    bodyminrate: setting(z.int().min(0).default(1024), {
      kind: 'integer',
      origin: 'berth',
      description: 'Bytes a second a request body must average over each limits.bodytimeout; 0: any byte in the period will do.',
      expected: 'a whole number of bytes a second, 0 or more',
      defaultText: '1024',
    }),
  })
  .superRefine((limits, ctx) => {
    if (limits.bodymemory < limits.manifestmaxbytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['bodymemory'],
        input: limits.bodymemory,
        message: expectedGot(`at least limits.manifestmaxbytes (${limits.manifestmaxbytes})`, limits.bodymemory),
      });
    }
    if (limits.catalogdefaultentries > limits.paginationmaxentries) {
      ctx.addIssue({
        code: 'custom',
        path: ['catalogdefaultentries'],
        input: limits.catalogdefaultentries,
        message: expectedGot(`at most limits.paginationmaxentries (${limits.paginationmaxentries})`, limits.catalogdefaultentries),
      });
    }
  })
  .prefault({});

export function toLimitsConfig(limits: z.output<typeof limitsSection>): LimitsConfig {
  return {
    manifestMaxBytes: limits.manifestmaxbytes,
    paginationMaxEntries: limits.paginationmaxentries,
    catalogDefaultEntries: limits.catalogdefaultentries,
    maxTagsPerPush: limits.maxtagsperpush,
    maxConcurrentRequests: limits.maxconcurrentrequests,
    idleTimeoutMs: limits.idletimeout,
    headersTimeoutMs: limits.headerstimeout,
    bodyMemoryBytes: limits.bodymemory,
    bodyTimeoutMs: limits.bodytimeout,
    bodyMinRate: limits.bodyminrate,
  };
}
