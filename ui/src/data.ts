// Loading data for a view: one hook, cancelled when the view changes.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";

export interface Loaded<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  reload: () => void;
}

/** Run `load` whenever `deps` change; the previous request is aborted. */
export function useData<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    load(controller.signal).then(
      (data) => controller.signal.aborted || setState({ data, loading: false }),
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setState({ error: asApiError(err), loading: false });
      },
    );
    return () => controller.abort();
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

/** `err` as an ApiError (the API's own, or a client-side one with the thrown message). */
export const asApiError = (err: unknown) => (err instanceof ApiError ? err : new ApiError(0, "client", String((err as Error)?.message ?? err)));

/** What a form does (a POST, a PATCH): `busy` while `run(action)` runs, `error` when it failed
 * (the API's message); `run` resolves to whether it succeeded. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  async function run(action: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (err) {
      setError(asApiError(err));
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, run };
}
