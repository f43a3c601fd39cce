// The log section of the configuration schema: the level (with Distribution's spellings of two
// levels) and the access log (on or off as in Distribution; its format is Berth's own key).
import { z } from 'zod';
import { section, setting } from './setting.js';

/** json: a JSON log line per request among the other log lines; combined: Apache's combined format. */
export type AccessLogFormat = 'json' | 'combined';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LogConfig {
  level: LogLevel;
  accesslog: { disabled: boolean; format: AccessLogFormat };
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'panic', 'silent'] as const;
// Distribution (logrus) spells two levels differently from pino.
const LOG_LEVEL_ALIASES: Readonly<Record<string, LogLevel>> = { warning: 'warn', panic: 'fatal' };

export const logSection = section({
  level: setting(
    z
      .enum(LOG_LEVELS)
      .transform((level): LogLevel => LOG_LEVEL_ALIASES[level] ?? (level as LogLevel))
      .prefault('info'),
    {
      kind: 'enum',
      origin: 'distribution',
      description:
        'Least severe level that is logged: trace, debug, info, warn, error, fatal or silent ("warning" and "panic" are accepted as Distribution writes them).',
      expected: 'one of trace, debug, info, warn, error, fatal, silent',
      defaultText: 'info',
    },
  ),
  accesslog: section({
    disabled: setting(z.boolean().default(false), {
      kind: 'boolean',
      origin: 'distribution',
      description: 'Turns off the access log line written for every request.',
      expected: 'true or false',
      defaultText: 'false',
    }),
    format: setting(z.enum(['json', 'combined']).default('json'), {
      kind: 'enum',
      origin: 'berth',
      description:
        'How each access log line is written to standard output: "json", a JSON log line with method, path, status, bytes, duration, user, request id, client address and user agent; or "combined", Apache\'s combined log format. Credentials and unknown query parameters are never logged.',
      expected: 'json or combined',
      defaultText: 'json',
    }),
  }),
});

export function toLogConfig(log: z.output<typeof logSection>): LogConfig {
  return { level: log.level, accesslog: { disabled: log.accesslog.disabled, format: log.accesslog.format } };
}
