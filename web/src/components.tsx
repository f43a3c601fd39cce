// Small building blocks the pages share: loading and error states, a copy button, a
// confirmation dialog (the native <dialog>, which handles focus and Escape).
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { formatTime } from './format';

/** The state of something loaded from the server. */
export type Loaded<T> = { state: 'loading' } | { state: 'error'; error: Error } | { state: 'ready'; value: T };

/**
 * Loads with `load` whenever a dependency changes; stale answers are dropped, and what was
 * loaded for other dependencies is never shown as theirs (the page says loading instead).
 */
export function useLoad<T>(load: () => Promise<T>, dependencies: readonly unknown[]): [Loaded<T>, () => void] {
  const [generation, setGeneration] = useState(0);
  const key = JSON.stringify([...dependencies, generation]);
  const [loaded, setLoaded] = useState<{ key: string; loaded: Loaded<T> }>({ key, loaded: { state: 'loading' } });
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && setLoaded({ key, loaded: { state: 'ready', value } }),
      (error: unknown) =>
        current && setLoaded({ key, loaded: { state: 'error', error: error instanceof Error ? error : new Error(String(error)) } }),
    );
    return () => {
      current = false;
    };
  }, [key]);
  return [loaded.key === key ? loaded.loaded : { state: 'loading' }, () => setGeneration((value) => value + 1)];
}

export function ErrorMessage({ error }: { error: Error }) {
  const detail = error instanceof ApiError ? `${error.message} (${error.code})` : error.message;
  return (
    <p class="error" role="alert">
      {detail}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** Renders the value once loaded, else the loading or error state. */
export function Show<T>({ loaded, what, children }: { loaded: Loaded<T>; what: string; children: (value: T) => ComponentChildren }) {
  if (loaded.state === 'loading') return <Loading what={what} />;
  if (loaded.state === 'error') return <ErrorMessage error={loaded.error} />;
  return <>{children(loaded.value)}</>;
}

/** Selects the element's text, so the visitor can copy it with the keyboard. */
function selectText(element: HTMLElement): void {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}

/**
 * Copies text to the clipboard: the Clipboard API where the page may use it (HTTPS, or localhost),
 * else the selected text with the older copy command, which works on plain http too. Resolves
 * false when neither worked; the text is then left selected for Ctrl+C.
 */
async function copyText(text: string, element: HTMLElement): Promise<boolean> {
  if (window.isSecureContext && navigator.clipboard !== undefined) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Refused (no permission, no focus): fall back to the selection.
    }
  }
  selectText(element);
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

/** A command shown in a code box with a button that copies it (or selects it, where copying is not allowed). */
export function CopyCommand({ label, command }: { label: string; command: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'selected'>('idle');
  const text = useRef<HTMLElement>(null);
  const copy = async (): Promise<void> => {
    if (text.current === null) return;
    setState((await copyText(command, text.current)) ? 'copied' : 'selected');
    setTimeout(() => setState('idle'), 4000);
  };
  return (
    <div class="copy">
      <code ref={text} data-command={command}>
        {command}
      </code>
      <button type="button" class="secondary" onClick={copy} aria-label={`Copy ${label}`}>
        {state === 'copied' ? 'Copied' : 'Copy'}
      </button>
      <span class="visually-hidden" aria-live="polite">
        {state === 'copied' ? `${label} copied` : state === 'selected' ? `${label} selected: press Control C to copy it` : ''}
      </span>
    </div>
  );
}

/** Asks before something that cannot be undone; resolves the action's error in place. */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const confirm = async (): Promise<void> => {
    setBusy(true);
    try {
      await onConfirm();
      dialog.current?.close();
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        class="danger"
        onClick={() => {
          setError(undefined);
          dialog.current?.showModal();
        }}
      >
        {label}
      </button>
      <dialog ref={dialog} aria-label={question}>
        <p>{question}</p>
        {error && <ErrorMessage error={error} />}
        <div class="actions">
          <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" class="danger" disabled={busy} onClick={confirm}>
            {confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

/** A time as relative text ("3 hours ago", "never"), the exact ISO time for machines and tooltips. */
export function RelativeTime({ at }: { at: string | null | undefined }) {
  const time = formatTime(at);
  return (
    <time dateTime={time.exact} title={time.exact}>
      {time.text}
    </time>
  );
}
