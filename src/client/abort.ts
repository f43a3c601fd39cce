// Waiting on shared work with a caller's AbortSignal: the caller stops waiting when it aborts,
// while the work itself runs on for whoever else waits on it (a shared token request, a
// single-flight blob fill).

/** The promise's outcome, or the signal's reason if it aborts first (the promise runs on). */
export function untilSettled<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as unknown);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as unknown);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
