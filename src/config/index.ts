// Public API of the configuration layer: load and validate config.yml plus REGISTRY_* / BERTH_*
// environment overrides into a typed Config, and describe the schema for docs and editors.
export { loadConfig, parseConfig, configFileFromEnv, type LoadConfigOptions, type ParseConfigOptions } from './load.js';
export { ConfigError, formatIssue, type ConfigIssue } from './issues.js';
export {
  configJsonSchema,
  IGNORED_KEYS,
  listSettings,
  type Config,
  type LogLevel,
  type NotificationEndpointConfig,
  type SettingInfo,
  type SettingNode,
} from './schema.js';
export { CONFIG_FILE_ENV_VARS, envVarName, primaryEnvVar } from './env.js';
export { DurationError, formatDuration, parseDuration } from '../oci/duration.js';
export type { ListenAddress } from './addr.js';
