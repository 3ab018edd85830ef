import { useState } from "preact/hooks";
import { ApiError, get, post } from "../api";
import { ErrorBox, Loading, Page, Status, Table, Time, fmt, short, type Column, type Sort } from "../components";
import { useData } from "../data";
import { ListPage } from "../listview";
import { href, navigate, setQuery, useLocation } from "../router";
import type { Experiment, Run } from "./types";

export function Experiments() {
  return (
    <ListPage<Experiment>
      title="Experiments"
      path="/experiments"
      field="experiments"
      defaultSort={{ key: "created", desc: true }}
      rowKey={(e) => e.id}
      rowHref={(e) => `/experiments/${e.id}`}
      empty="No experiment yet: conveyor.set_experiment('name') creates one."
      columns={[
        { key: "name", label: "Name", sort: (e) => e.name, render: (e) => <a href={`/experiments/${e.id}`}>{e.name}</a> },
        { key: "description", label: "Description", render: (e) => e.description },
        { key: "created", label: "Created", sort: (e) => e.created_at, render: (e) => <Time ms={e.created_at} /> },
      ]}
    />
  );
}

const PAGE_SIZE = 50;

/** `metrics.<key>`, backquoted when the key is not a plain word (the search grammar). */
export function entity(kind: string, key: string): string {
  return /^[\w.-]+$/.test(key) ? `${kind}.${key}` : `${kind}.\`${key}\``;
}

/** Column ids in the URL: m:<metric>, p:<param>, t:<tag>. */
const KINDS: Record<string, { entity: string; label: string; value: (r: Run, k: string) => unknown }> = {
  m: { entity: "metrics", label: "", value: (r, k) => r.metrics[k] },
  p: { entity: "params", label: "param ", value: (r, k) => r.params[k] },
  t: { entity: "tags", label: "tag ", value: (r, k) => r.tags[k] },
};

function orderToSort(order: string | null): Sort {
  if (!order) return { key: "attributes.start_time", desc: true };
  const desc = / desc$/i.test(order);
  return { key: order.replace(/ (asc|desc)$/i, ""), desc };
}

/** The runs of an experiment: search grammar, server-side sort and pagination, column picker. */
export function RunsTable({ experiment }: { experiment: string }) {
  const loc = useLocation();
  const q = loc.query;
  const filter = q.get("filter") ?? "";
  const order = q.get("order");
  const page = Math.max(1, Number(q.get("page") ?? "1") || 1);
  const cols = q.get("cols");
  const exp = useData((s) => get<Experiment>(`/experiments/${encodeURIComponent(experiment)}`, undefined, s), [experiment]);
  // In parallel with the experiment: search takes its id or name as the URL has it.
  const runs = useData(
    (s) =>
      post<{ runs: Run[] }>(
        "/runs/search",
        { experiment_ids: [experiment], filter: filter || null, order_by: order ? [order] : null, max_results: PAGE_SIZE + 1, offset: (page - 1) * PAGE_SIZE },
        s,
      ),
    [experiment, filter, order, page],
  );
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [draft, setDraft] = useState<string | null>(null);
  if (exp.error) return <ErrorBox error={exp.error} />;
  if (!exp.data) return <Loading />;
  const rows = runs.data?.runs.slice(0, PAGE_SIZE) ?? [];
  const hasNext = (runs.data?.runs.length ?? 0) > PAGE_SIZE;
  const seen = { m: new Set<string>(), p: new Set<string>(), t: new Set<string>() };
  for (const r of rows) {
    Object.keys(r.metrics).forEach((k) => seen.m.add(k));
    Object.keys(r.params).forEach((k) => seen.p.add(k));
    Object.keys(r.tags).forEach((k) => seen.t.add(k));
  }
  const available = [...[...seen.m].sort().map((k) => `m:${k}`), ...[...seen.p].sort().map((k) => `p:${k}`), ...[...seen.t].sort().map((k) => `t:${k}`)];
  const picked = cols !== null ? cols.split(",").filter(Boolean) : [...[...seen.m].sort().slice(0, 8).map((k) => `m:${k}`), ...[...seen.p].sort().slice(0, 4).map((k) => `p:${k}`)];
  const toggleCol = (id: string) => {
    const next = picked.includes(id) ? picked.filter((c) => c !== id) : [...picked, id];
    setQuery({ cols: next.join(",") || "-" }, true);
  };
  const toggleRun = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const columns: Column<Run>[] = [
    {
      key: "select",
      label: "Select",
      render: (r) => <input type="checkbox" aria-label={`select run ${r.name || r.id}`} checked={selected.has(r.id)} onChange={() => toggleRun(r.id)} />,
    },
    { key: "attributes.run_name", label: "Run", sort: true, render: (r) => <a href={`/runs/${r.id}`}>{r.name || short(r.id)}</a> },
    { key: "attributes.status", label: "Status", sort: true, render: (r) => <Status value={r.status} /> },
    { key: "attributes.start_time", label: "Started", sort: true, render: (r) => <Time ms={r.start_time} /> },
    ...picked
      .filter((id) => id.includes(":"))
      .map((id): Column<Run> => {
        const [kind, key] = [id.slice(0, 1), id.slice(2)];
        const spec = KINDS[kind] ?? KINDS.m;
        return { key: entity(spec.entity, key), label: spec.label + key, sort: true, numeric: kind === "m", render: (r) => fmt(spec.value(r, key)) };
      }),
  ];
  const error = runs.error;
  const position = typeof error?.details?.position === "number" ? (error.details.position as number) : null;
  const filterText = draft ?? filter;
  return (
    <Page
      title={`Runs of ${exp.data.name}`}
      actions={
        <button type="button" disabled={selected.size < 2} onClick={() => navigate(href("/compare", { runs: [...selected].join(",") }))}>
          Compare {selected.size || ""} runs
        </button>
      }
    >
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          // the input's own value: a submit may come before the re-render of the last keystroke
          const input = (e.currentTarget as HTMLFormElement).elements.namedItem("filter") as HTMLInputElement;
          setDraft(null);
          setQuery({ filter: input.value.trim(), page: null });
        }}
      >
        <label for="filter">Filter</label>
        <input
          id="filter"
          name="filter"
          type="search"
          spellcheck={false}
          value={filterText}
          placeholder="metrics.auc > 0.8 and params.model = 'rf'"
          aria-invalid={error?.status === 422 || error?.status === 400 ? "true" : undefined}
          aria-describedby={error ? "filter-error" : undefined}
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
        <details class="picker">
          <summary>Columns</summary>
          <fieldset>
            <legend>Columns shown</legend>
            {available.length === 0 && <p class="muted">No metric, param or tag on this page.</p>}
            {available.map((id) => (
              <label key={id}>
                <input type="checkbox" checked={picked.includes(id)} onChange={() => toggleCol(id)} /> {KINDS[id[0]].label || "metric "}
                {id.slice(2)}
              </label>
            ))}
          </fieldset>
        </details>
      </form>
      {error && (error.status === 422 || error.status === 400) ? (
        <div id="filter-error" class="error inline" role="alert">
          <p>{error.message}</p>
          {position !== null && (
            <pre aria-label="where the filter fails">
              {filter}
              {"\n" + " ".repeat(position) + "^"}
            </pre>
          )}
        </div>
      ) : error ? (
        <ErrorBox error={error as ApiError} />
      ) : !runs.data ? (
        <Loading what="Loading runs" />
      ) : (
        <>
          <Table
            label="Runs"
            rows={rows}
            rowKey={(r) => r.id}
            rowHref={(r) => `/runs/${r.id}`}
            sort={orderToSort(order)}
            onSort={(s) => setQuery({ order: `${s.key} ${s.desc ? "DESC" : "ASC"}`, page: null })}
            empty={filter ? "No run matches this filter." : "No run in this experiment yet."}
            busy={runs.loading}
            columns={columns}
          />
          <nav class="pager" aria-label="Pages">
            {page > 1 ? <a href={href(loc.path, { ...Object.fromEntries(q), page: page - 1 })}>← Previous</a> : <span />}
            <span>
              Page {page} · runs {(page - 1) * PAGE_SIZE + (rows.length ? 1 : 0)}–{(page - 1) * PAGE_SIZE + rows.length}
            </span>
            {hasNext ? <a href={href(loc.path, { ...Object.fromEntries(q), page: page + 1 })}>Next →</a> : <span />}
          </nav>
        </>
      )}
    </Page>
  );
}
