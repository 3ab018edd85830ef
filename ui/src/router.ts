// A tiny history router: every view is a URL (path + query), back/forward re-render it.
import { useEffect, useState } from "preact/hooks";

type Listener = () => void;
const listeners = new Set<Listener>();

function notify() {
  for (const listener of listeners) listener();
}

/** The query parameter naming the project a view acts in (`?project=NAME`; absent: the
 * server's default project). The API client sends it as `X-Conveyor-Project`. */
export const PROJECT_PARAM = "project";

/** The project of the current URL, or null (the server's default). */
export const currentProject = (): string | null => new URLSearchParams(location.search).get(PROJECT_PARAM) || null;

/** `href` in the current project, when it names none (`replace`: whatever it names). */
function inProject(href: string, replace = false): string {
  const project = currentProject();
  const url = new URL(href, location.href);
  const named = url.searchParams.get(PROJECT_PARAM) || null;
  if (named === project || (named !== null && !replace)) return href;
  if (project) url.searchParams.set(PROJECT_PARAM, project);
  else url.searchParams.delete(PROJECT_PARAM);
  return url.pathname + url.search + url.hash;
}

/** The app's own link `anchor` points to (same origin, not the API), or null. */
function appLink(anchor: HTMLAnchorElement | null | undefined): string | null {
  const href = anchor?.getAttribute("href");
  return href && !href.startsWith("/api/") && (href.startsWith("/") || href.startsWith("?")) ? href : null;
}

// A link opened any way (a click, a middle click, Ctrl+Enter, the context menu's new tab) points
// into the current project: its href gets `?project=` just before the browser reads it.
for (const type of ["mousedown", "keydown", "contextmenu"])
  document.addEventListener(
    type,
    (event) => {
      const anchor = (event.target as Element).closest?.("a");
      const href = appLink(anchor);
      if (href && anchor) {
        const inside = inProject(href, true);
        if (inside !== href) anchor.setAttribute("href", inside);
      }
    },
    true,
  );

/** Go to `href` (same origin; it stays in the current project unless it names one);
 * `replace` keeps the history length (filters typed live). */
export function navigate(target: string, replace = false) {
  const href = inProject(target);
  if (href === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  notify();
  if (!replace) window.scrollTo(0, 0);
}

window.addEventListener("popstate", notify);

// Same-origin links navigate without a reload (modifier keys keep the browser's behaviour).
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element).closest?.("a");
  if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
  const href = appLink(anchor);
  if (!href) return;
  event.preventDefault();
  navigate(href.startsWith("?") ? location.pathname + href : href);
});

export interface Location {
  path: string;
  query: URLSearchParams;
}

/** The current location; the component re-renders when it changes. */
export function useLocation(): Location {
  const [, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((n) => n + 1);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return { path: decodeURI(location.pathname), query: new URLSearchParams(location.search) };
}

/** A URL for `path` with `query` (empty values dropped). */
export function href(path: string, query: Record<string, string | number | null | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") params.set(k, String(v));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Change some query parameters of the current view. */
export function setQuery(updates: Record<string, string | number | null | undefined>, replace = false) {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(updates)) {
    if (v === null || v === undefined || v === "") params.delete(k);
    else params.set(k, String(v));
  }
  const text = params.toString();
  navigate(location.pathname + (text ? `?${text}` : ""), replace);
}

export type Params = Record<string, string>;

/** Match `path` against a pattern like "/models/:name*" (`*`: the rest, '/' included). */
export function match(pattern: string, path: string): Params | null {
  const names: string[] = [];
  const source = pattern.replace(/\/:(\w+)(\*?)/g, (_all, name: string, rest: string) => {
    names.push(name);
    return rest ? "/(.+)" : "/([^/]+)";
  });
  const found = new RegExp(`^${source}/?$`).exec(path);
  if (!found) return null;
  const params: Params = {};
  names.forEach((name, i) => (params[name] = found[i + 1]));
  return params;
}
