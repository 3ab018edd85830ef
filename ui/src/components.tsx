// Shared pieces of every page: states (loading, empty, error, not found), times, tables.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ApiError } from "./api";
import type { Loaded } from "./data";
import { navigate } from "./router";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p class="state loading" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

/** An API error with the API's own message (never a stack trace). */
export function ErrorBox({ error }: { error: ApiError }) {
  if (error.status === 404) return <NotFound message={error.message} />;
  return (
    <div class="error" role="alert">
      <strong>{error.status ? `Error ${error.status} (${error.code})` : "Error"}</strong>
      <p>{error.message}</p>
    </div>
  );
}

export function NotFound({ message }: { message: string }) {
  useTitle("Not found");
  return (
    <section class="not-found" role="alert">
      <h1>Not found</h1>
      <p>{message}</p>
      <p>
        <a href="/">Back to the overview</a>
      </p>
    </section>
  );
}

/** Loading, error or the content of a loaded value. */
export function Show<T>({ loaded, children, what }: { loaded: Loaded<T>; what?: string; children: (data: T) => ComponentChildren }) {
  if (loaded.error) return <ErrorBox error={loaded.error} />;
  if (loaded.data === undefined) return <Loading what={what} />;
  return <>{children(loaded.data)}</>;
}

const local = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A time in the viewer's zone, UTC on hover. `ms`: epoch milliseconds or an ISO string. */
export function Time({ ms }: { ms: number | string | null | undefined }) {
  if (ms === null || ms === undefined || ms === "") return <span class="muted">—</span>;
  const date = new Date(typeof ms === "number" ? ms : ms);
  if (Number.isNaN(date.getTime())) return <span>{String(ms)}</span>;
  const utc = date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  return (
    <time dateTime={date.toISOString()} title={utc}>
      {local.format(date)}
    </time>
  );
}

export function fmt(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1e5 || (Math.abs(value) < 1e-3 && value !== 0) ? value.toExponential(4) : value.toPrecision(5).replace(/\.?0+$/, "");
  }
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

export function Badge({ kind, children }: { kind?: string; children: ComponentChildren }) {
  return <span class={`badge ${kind ?? ""}`}>{children}</span>;
}

export function statusKind(status: string | undefined | null): string {
  const s = (status ?? "").toLowerCase();
  if (["finished", "passed", "healthy", "ready", "completed", "succeeded", "ok", "approved", "valid", "resolved", "promoted"].includes(s)) return "good";
  if (["failed", "error", "firing", "open", "rejected", "aborted", "invalid", "unhealthy", "killed", "rolled_back"].includes(s)) return "bad";
  if (["running", "pending", "paused", "in_progress", "candidate", "acknowledged", "active"].includes(s)) return "warn";
  return "";
}

export function Status({ value }: { value: string | null | undefined }) {
  return <Badge kind={statusKind(value)}>{value ?? "—"}</Badge>;
}

export interface Column<T> {
  key: string;
  label: string;
  render: (row: T) => ComponentChildren;
  /** A sortable column: the value to compare (client-side), or true for server-sorted. */
  sort?: ((row: T) => string | number | null | undefined) | true;
  numeric?: boolean;
}

export interface Sort {
  key: string;
  desc: boolean;
}

/**
 * A table: click a header (or Enter on it) to sort; ↑/↓ move between rows, Enter opens the
 * row's link, Space toggles its checkbox.
 */
export function Table<T>(props: {
  label: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  rowHref?: (row: T) => string;
  sort?: Sort | null;
  onSort?: (sort: Sort) => void;
  empty?: ComponentChildren;
  /** New rows are on their way (a sort or filter): the table says so to assistive tech. */
  busy?: boolean;
}) {
  const body = useRef<HTMLTableSectionElement>(null);
  const { columns, sort } = props;
  let rows = props.rows;
  const sorted = sort && columns.find((c) => c.key === sort.key);
  if (sorted && typeof sorted.sort === "function") {
    const value = sorted.sort;
    rows = [...rows].sort((a, b) => compare(value(a), value(b)) * (sort!.desc ? -1 : 1));
  }
  const onKey = (event: KeyboardEvent & { currentTarget: HTMLTableRowElement }, row: T) => {
    const tr = event.currentTarget;
    if (event.key === "ArrowDown" || event.key === "j") {
      (tr.nextElementSibling as HTMLElement | null)?.focus();
      event.preventDefault();
    } else if (event.key === "ArrowUp" || event.key === "k") {
      (tr.previousElementSibling as HTMLElement | null)?.focus();
      event.preventDefault();
    } else if (event.key === "Enter" && props.rowHref && event.target === tr) {
      navigate(props.rowHref(row));
    } else if (event.key === " " && event.target === tr) {
      const box = tr.querySelector<HTMLInputElement>("input[type=checkbox]");
      if (box) {
        box.click();
        event.preventDefault();
      }
    }
  };
  if (props.rows.length === 0) return <Empty>{props.empty ?? "Nothing here yet."}</Empty>;
  return (
    <div class="table-wrap">
      <table aria-label={props.label} aria-busy={props.busy ? "true" : "false"}>
        <thead>
          <tr>
            {columns.map((c) => {
              const active = sort?.key === c.key;
              const aria = active ? (sort!.desc ? "descending" : "ascending") : undefined;
              return (
                <th key={c.key} scope="col" class={c.numeric ? "num" : ""} aria-sort={aria}>
                  {c.sort ? (
                    <button
                      type="button"
                      class="sort"
                      onClick={() => {
                        const next = { key: c.key, desc: active ? !sort!.desc : c.numeric ?? false };
                        if (props.onSort) props.onSort(next);
                      }}
                    >
                      {c.label}
                      <span aria-hidden="true">{active ? (sort!.desc ? " ▼" : " ▲") : ""}</span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody ref={body}>
          {rows.map((row) => (
            <tr key={props.rowKey(row)} tabIndex={0} onKeyDown={(e) => onKey(e, row)}>
              {columns.map((c) => (
                <td key={c.key} class={c.numeric ? "num" : ""}>
                  {c.render(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

/** Client-side sorting state for small tables, kept in the URL (`?sort=key` / `-key`). */
export function parseSort(raw: string | null, fallback: Sort | null = null): Sort | null {
  if (!raw) return fallback;
  return raw.startsWith("-") ? { key: raw.slice(1), desc: true } : { key: raw, desc: false };
}
export const sortParam = (sort: Sort) => (sort.desc ? "-" : "") + sort.key;

export function KeyValues({ values, label }: { values: Record<string, unknown>; label: string }) {
  const entries = Object.entries(values ?? {});
  if (!entries.length) return <Empty>No {label.toLowerCase()}.</Empty>;
  return (
    <dl class="kv" aria-label={label}>
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{fmt(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The document title follows the page (history entries and tabs read well). */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · Conveyor` : "Conveyor";
  }, [title]);
}

export function Page({ title, actions, children }: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  useTitle(title);
  return (
    <>
      <header class="page-head">
        <h1>{title}</h1>
        {actions && <div class="actions">{actions}</div>}
      </header>
      {children}
    </>
  );
}

/** A titled card; `wide` spans every column of a `.grid`. */
export function Section({ title, wide, children }: { title: string; wide?: boolean; children: ComponentChildren }) {
  return (
    <section class={wide ? "card wide" : "card"}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export const short = (id: string | null | undefined) => (id ? id.slice(0, 8) : "—");
