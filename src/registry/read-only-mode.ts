// Read-only mode: whether the registry refuses writes (pulls go on). Two sources: the
// configuration file (storage.maintenance.readonly.enabled, as Distribution spells it; needs a
// restart) and a runtime switch, one row of the settings table that the admin API and
// `berth maintenance readonly on|off` write. Either one on makes the registry read-only, so the
// file's true wins over the switch. Every process reads the row once per interval (2 s), never per
// request, so a switch made anywhere holds on every replica within seconds; the HTTP layer asks
// `active`, a field read.

/** The settings row of the runtime switch: "true" or "false". */
export const READ_ONLY_SETTING = 'maintenance.readonly';

/** The part of the settings table the switch uses (metadata's AccountStore has it). */
export interface SettingsStore {
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;
}

export interface ReadOnlyStatus {
  /** Whether writes are refused now: `config` or `runtime`. */
  readonly enabled: boolean;
  /** storage.maintenance.readonly.enabled. */
  readonly config: boolean;
  /** The runtime switch (the settings row). */
  readonly runtime: boolean;
}

export interface ReadOnlyModeOptions {
  /** How often the settings row is read; default 2 s. */
  readonly refreshMs?: number;
  /** Told when the mode changes (for the log), and when a read of the row fails. */
  readonly onChange?: (status: ReadOnlyStatus) => void;
  readonly onError?: (error: unknown) => void;
}

/** Reads the runtime switch from the settings table. */
export async function readReadOnlySwitch(settings: SettingsStore): Promise<boolean> {
  return (await settings.getSetting(READ_ONLY_SETTING)) === 'true';
}

/** Writes the runtime switch; every process picks it up within its refresh interval. */
export async function writeReadOnlySwitch(settings: SettingsStore, enabled: boolean): Promise<void> {
  await settings.setSetting(READ_ONLY_SETTING, String(enabled));
}

/** The mode as this process knows it: the file's value and the switch as last read. */
export class ReadOnlyMode {
  private runtime = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly refreshMs: number;

  constructor(
    private readonly settings: SettingsStore,
    private readonly config: boolean,
    private readonly options: ReadOnlyModeOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 2000;
  }

  /** Whether writes are refused now. */
  get active(): boolean {
    return this.config || this.runtime;
  }

  status(): ReadOnlyStatus {
    return { enabled: this.active, config: this.config, runtime: this.runtime };
  }

  /** Reads the switch now. */
  async refresh(): Promise<ReadOnlyStatus> {
    this.apply(await readReadOnlySwitch(this.settings));
    return this.status();
  }

  /** Sets the switch for every replica; this one follows at once. */
  async set(enabled: boolean): Promise<ReadOnlyStatus> {
    await writeReadOnlySwitch(this.settings, enabled);
    this.apply(enabled);
    return this.status();
  }

  /** Reads the switch every refreshMs until stop(); a failed read keeps the last value. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.options.onError?.(error));
    }, this.refreshMs);
    // The poll alone never keeps the process alive.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private apply(runtime: boolean): void {
    const before = this.active;
    this.runtime = runtime;
    if (this.active !== before) this.options.onChange?.(this.status());
  }
}
