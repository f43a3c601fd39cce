// What the administrators' pages share: running a form's action with its busy state and its
// error shown as text (role=alert), a labelled field, a read-only marker for what the
// configuration file sets, and a yes/no display. Loading and confirmation come from
// ../../components like everywhere else in the UI.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ConfirmButton, ErrorMessage } from '../../components';

export interface Action {
  /** Runs the action; its error is kept for display, success returns true. */
  readonly run: (action: () => Promise<unknown>) => Promise<boolean>;
  readonly busy: boolean;
  readonly error: Error | undefined;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const run = async (action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error };
}

/** The error of an action, if any, as an alert. */
export function ActionError({ action }: { action: Action }) {
  return action.error ? <ErrorMessage error={action.error} /> : null;
}

/** A form whose submit runs `onSubmit` (default prevented), laid out as a row that wraps. */
export function AdminForm({ label, onSubmit, children }: { label: string; onSubmit: () => void; children: ComponentChildren }) {
  const submit = (event: Event): void => {
    event.preventDefault();
    onSubmit();
  };
  return (
    <form class="admin-form" aria-label={label} onSubmit={submit}>
      {children}
    </form>
  );
}

/** The input attributes a Field passes on. */
interface InputOptions {
  readonly type?: 'text' | 'password' | 'number' | 'datetime-local';
  readonly required?: boolean;
  readonly autocomplete?: string;
  readonly min?: string;
  readonly max?: string;
}

/** A labelled input; `hint` is tied to it with aria-describedby. */
export function Field({
  id,
  label,
  value,
  onInput,
  hint,
  type = 'text',
  required = false,
  autocomplete,
  min,
  max,
}: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  hint?: string;
} & InputOptions) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        // Preact 11 types each input type with its own roles, and a union of types matches none of them.
        type={type as 'text'}
        value={value}
        required={required}
        autocomplete={autocomplete}
        min={min}
        max={max}
        onInput={(event) => onInput(event.currentTarget.value)}
        aria-describedby={hint === undefined ? undefined : `${id}-hint`}
      />
      {hint !== undefined && (
        <small id={`${id}-hint`} class="muted">
          {hint}
        </small>
      )}
    </div>
  );
}

/** A checkbox with its label after it. */
export function Check({
  id,
  label,
  checked,
  onChange,
}: {
  id: string;
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <div class="check">
      <input id={id} type="checkbox" checked={checked} onChange={(event) => onChange(event.currentTarget.checked)} />
      <label for={id}>{label}</label>
    </div>
  );
}

/** Marks what the configuration file sets (listed, not editable here). */
export function FromConfig() {
  return <span class="chip">configuration file</span>;
}

/**
 * A delete button behind a confirmation that reloads what lists the item once it is gone; for
 * what the configuration file sets (readOnly), the marker that says so instead.
 */
export function RemoveButton({
  label,
  question,
  confirmLabel,
  remove,
  removed,
  readOnly = false,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  remove: () => Promise<unknown>;
  removed: () => void;
  readOnly?: boolean;
}) {
  if (readOnly) return <FromConfig />;
  const confirm = async (): Promise<void> => {
    await remove();
    removed();
  };
  return <ConfirmButton label={label} question={question} confirmLabel={confirmLabel} onConfirm={confirm} />;
}

/** A time as text with the exact ISO time for machines and tooltips. */
export function When({ at }: { at: string | null | undefined }) {
  if (at === null || at === undefined) return <span class="muted">never</span>;
  const date = new Date(at);
  return (
    <time dateTime={date.toISOString()} title={date.toISOString()}>
      {date.toLocaleString()}
    </time>
  );
}

/** A comma-separated list typed into one field, as an array without empty entries. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** Pages through a newest-first list whose API answers `next`, passed back as `before`. */
export interface CursorPages {
  /** The `before` of the page shown; undefined on the newest page. */
  readonly before: string | undefined;
  readonly older: (next: string) => void;
  readonly newer: () => void;
  readonly reset: () => void;
  readonly depth: number;
}

export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<string[]>([]);
  return {
    before: cursors.at(-1),
    older: (next) => setCursors([...cursors, next]),
    newer: () => setCursors(cursors.slice(0, -1)),
    reset: () => setCursors([]),
    depth: cursors.length,
  };
}

/** Newer and Older buttons for a list paged with useCursorPages. */
export function CursorPager({ pages, next, what }: { pages: CursorPages; next: string | undefined; what: string }) {
  return (
    <nav class="pager" aria-label={`Pages of ${what}`}>
      {pages.depth > 0 && (
        <button type="button" class="secondary" onClick={pages.newer}>
          Newer {what}
        </button>
      )}
      {next !== undefined && (
        <button type="button" class="secondary" onClick={() => pages.older(next)}>
          Older {what}
        </button>
      )}
    </nav>
  );
}
