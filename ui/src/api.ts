// Every page reads through the REST API generated from the operation table (/api/v1).
import { currentProject } from "./router";

export const API = "/api/v1";

/** An answer of the API that is not 2xx: its status, code and message, as the API said. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const TOKEN_KEY = "conveyor.token";

/** The API token of this tab's session (sessionStorage: gone when the tab closes). */
export const session = {
  token(): string | null {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  signIn(token: string) {
    sessionStorage.setItem(TOKEN_KEY, token.trim());
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

const unauthenticated = new Set<(error: ApiError) => void>();

/** Call `listener` on every 401 answer (the app then shows its sign-in view). */
export function onUnauthenticated(listener: (error: ApiError) => void): () => void {
  unauthenticated.add(listener);
  return () => unauthenticated.delete(listener);
}

/** The header naming the project a request acts in (docs/governance.md, "Projects"). */
export const PROJECT_HEADER = "X-Conveyor-Project";

/** Headers every call sends: this tab's token, the URL's project (`?project=`). */
function identity(): Record<string, string> {
  const headers: Record<string, string> = {};
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  const project = currentProject();
  if (project) headers[PROJECT_HEADER] = project;
  return headers;
}

let inFlight = 0;

/** Run one request, counted on `<html data-requests>` while it is in flight, with a
 * `conveyor:idle` event on window when none is left: a script driving the UI (the browser tests)
 * awaits that instead of guessing how long a view takes to load. */
async function counted<T>(send: () => Promise<T>): Promise<T> {
  document.documentElement.dataset.requests = String(++inFlight);
  try {
    return await send();
  } finally {
    document.documentElement.dataset.requests = String(--inFlight);
    if (inFlight === 0) window.dispatchEvent(new Event("conveyor:idle"));
  }
}

type Query = Record<string, string | number | boolean | null | undefined | string[]>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) params.append(key, String(one));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function request<T>(method: string, path: string, init: { query?: Query; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  return counted(() => send<T>(method, path, init));
}

async function send<T>(method: string, path: string, init: { query?: Query; body?: unknown; signal?: AbortSignal }): Promise<T> {
  let response: Response;
  try {
    const headers: Record<string, string> = { Accept: "application/json", ...identity() };
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    response = await fetch(withQuery(API + path, init.query), {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "unreachable", `The server did not answer (${(err as Error).message}). Is conveyor server running?`);
  }
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)?.error;
    const failure = new ApiError(response.status, error?.code ?? "http_" + response.status, error?.message ?? `${response.status} ${response.statusText}`, error?.details ?? {});
    if (response.status === 401) unauthenticated.forEach((listener) => listener(failure));
    throw failure;
  }
  return data as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>("GET", path, { query, signal });
export const post = <T>(path: string, body: unknown, signal?: AbortSignal) => request<T>("POST", path, { body, signal });
export const patch = <T>(path: string, body: unknown, signal?: AbortSignal) => request<T>("PATCH", path, { body, signal });

/** The URL of a blob's bytes (artifact previews, downloads). */
export const blobUrl = (sha256: string) => `${API}/blobs/${sha256}`;

/** A blob's bytes, with this tab's token and project (an <img src> or a plain link would not send them). */
export async function fetchBlob(sha256: string, signal?: AbortSignal): Promise<Response> {
  const response = await counted(() => fetch(blobUrl(sha256), { signal, headers: identity() }));
  if (!response.ok) {
    const failure = new ApiError(response.status, "http_" + response.status, `The artifact's bytes could not be read (${response.status} ${response.statusText}).`);
    if (response.status === 401) unauthenticated.forEach((listener) => listener(failure));
    throw failure;
  }
  return response;
}

/** `name` with each path segment escaped, '/' kept (model and dataset names may hold '/'). */
export const seg = (name: string) => name.split("/").map(encodeURIComponent).join("/");
