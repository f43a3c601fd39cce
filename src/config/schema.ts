// The one configuration schema: every key Berth reads, its type, default, and whether it is
// CNCF Distribution's key or Berth's own. The YAML loader, the environment overrides, the JSON
// Schema export and the docs test all walk this schema, so a key added here is known everywhere.
// One file per section (log-, http-, security-, proxy-, storage-, validation-, metadata- and
// limits-schema.ts), assembled in file-schema.ts; this module maps the validated file to Config.
import type { AuthConfig } from './security-schema.js';
import type { ConfigFile } from './file-schema.js';
import { toGcConfig, type GcConfig } from './gc-schema.js';
import { toHttpConfig, type HttpConfig } from './http-schema.js';
import { toImmutabilityConfig, type ImmutabilityRuleConfig } from './immutability-schema.js';
import { toLimitsConfig, type LimitsConfig } from './limits-schema.js';
import { toRateLimitConfig, type RateLimitConfig } from './ratelimit-schema.js';
import { toLogConfig, type LogConfig } from './log-schema.js';
import { toMetadataConfig, type MetadataConfig } from './metadata-schema.js';
import { toNotificationsConfig, type NotificationsConfig } from './notifications-schema.js';
import { toAuditConfig, type AuditConfig } from './audit-schema.js';
import { toProxyConfig, type ProxyConfig } from './proxy-schema.js';
import { toQuotaConfig, type QuotaConfig } from './quota-schema.js';
import { toRetentionConfig, type RetentionConfig } from './retention-schema.js';
import { toAuthConfig } from './security-schema.js';
import { toStorageConfig, type StorageConfig } from './storage-schema.js';
import { toUiConfig, type UiConfig } from './ui-schema.js';
import { toValidationConfig, type ValidationConfig } from './validation-schema.js';

export { describeValue, expectedGot, settingInfo, type SettingInfo, type SettingKind } from './setting.js';
export { configFileSchema, type ConfigFile } from './file-schema.js';
export { IGNORED_KEYS, ignoredKeyFor, ignoredWarning } from './ignored-keys.js';
export { configJsonSchema } from './json-schema.js';
export { findNode, listSettings, schemaTree, type SchemaNode, type SectionNode, type SettingNode } from './schema-tree.js';
export type { LogLevel } from './log-schema.js';
export type { S3StorageConfig } from './storage-schema.js';
export type { IndexPlatforms } from './validation-schema.js';
export type { ImmutabilityRuleConfig } from './immutability-schema.js';
export type { QuotaConfig } from './quota-schema.js';
export type { RateLimitConfig } from './ratelimit-schema.js';
export type { RetentionConfig } from './retention-schema.js';
export type { NotificationEndpointConfig, NotificationsConfig } from './notifications-schema.js';
export type { AuditConfig } from './audit-schema.js';

/** The validated configuration the rest of Berth uses. */
export interface Config {
  version: string;
  log: LogConfig;
  http: HttpConfig;
  auth: AuthConfig;
  /** Upstream registries cached by the pull-through cache; none: a plain registry. */
  proxy: ProxyConfig;
  storage: StorageConfig;
  validation: ValidationConfig;
  metadata: MetadataConfig;
  limits: LimitsConfig;
  /** Tag immutability rules from the file (the admin API adds more, stored in the database). */
  immutability: ImmutabilityRuleConfig[];
  /** The web UI: served or not, its path, how long a sign-in lasts. */
  ui: UiConfig;
  /** Request rate limits (all off unless configured). */
  ratelimit: RateLimitConfig;
  /** Garbage collection: the schedule (off by default) and the defaults of every run. */
  gc: GcConfig;
  /** Quotas per namespace from the file (the admin API sets more, stored in the database). */
  quotas: QuotaConfig[];
  /** Retention policies from the file and their schedule (off by default; the admin API adds rules). */
  retention: RetentionConfig;
  /** Webhook endpoints and the event outbox (docs/events.md). */
  notifications: NotificationsConfig;
  /** The audit log (docs/audit.md). */
  audit: AuditConfig;
  /** Accepted-but-ignored Distribution keys and other non-fatal remarks, one line each. */
  warnings: string[];
}

/** Applies the defaults that depend on other keys or on the working directory. */
export function toConfig(file: ConfigFile, cwd: string, warnings: string[]): Config {
  const storage = toStorageConfig(file.storage, cwd);
  return {
    version: file.version,
    log: toLogConfig(file.log),
    http: toHttpConfig(file.http, cwd),
    auth: toAuthConfig(file.auth, cwd),
    proxy: toProxyConfig(file.proxy),
    storage,
    validation: toValidationConfig(file.validation),
    metadata: toMetadataConfig(file.metadata, cwd, storage.filesystem.rootdirectory),
    limits: toLimitsConfig(file.limits),
    immutability: toImmutabilityConfig(file.immutability),
    ui: toUiConfig(file.ui),
    ratelimit: toRateLimitConfig(file.ratelimit),
    gc: toGcConfig(file.gc),
    quotas: toQuotaConfig(file.quotas),
    retention: toRetentionConfig(file.retention),
    notifications: toNotificationsConfig(file.notifications),
    audit: toAuditConfig(file.audit),
    warnings,
  };
}
