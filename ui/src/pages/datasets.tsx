import { get, seg } from "../api";
import { Badge, Empty, ErrorBox, KeyValues, Loading, Page, Section, Show, Table, Time, fmt, short } from "../components";
import { useData } from "../data";
import { ListPage } from "../listview";
import { href, navigate, setQuery, useLocation } from "../router";
import type { Dataset, DatasetVersion, ProfileColumn } from "./types";

export function Datasets() {
  return (
    <ListPage<Dataset>
      title="Datasets"
      path="/datasets"
      field="datasets"
      defaultSort={{ key: "name", desc: false }}
      rowKey={(x) => x.id}
      rowHref={(x) => `/datasets/${x.name}`}
      empty="No dataset yet: conveyor.log_dataset(frame, 'name') versions one."
      columns={[
        { key: "name", label: "Name", sort: (x) => x.name, render: (x) => <a href={`/datasets/${x.name}`}>{x.name}</a> },
        { key: "latest", label: "Latest version", numeric: true, sort: (x) => x.latest_version, render: (x) => x.latest_version },
        { key: "created", label: "Created", sort: (x) => x.created_at, render: (x) => <Time ms={x.created_at} /> },
      ]}
    />
  );
}

export function DatasetPage({ name }: { name: string }) {
  const versions = useData((s) => get<{ versions: DatasetVersion[] }>(`/datasets/${seg(name)}/versions`, undefined, s), [name]);
  return (
    <Page title={`Dataset ${name}`}>
      <Show loaded={versions}>
        {(d) => (
          <>
            <Table
              label="Versions"
              rows={d.versions}
              rowKey={(v) => v.id}
              rowHref={(v) => `/datasets/${name}/versions/${v.version}`}
              columns={[
                { key: "version", label: "Version", numeric: true, render: (v) => <a href={`/datasets/${name}/versions/${v.version}`}>v{v.version}</a> },
                { key: "rows", label: "Rows", numeric: true, render: (v) => v.num_rows.toLocaleString() },
                { key: "cols", label: "Columns", numeric: true, render: (v) => v.schema.length },
                { key: "checks", label: "Checks", render: (v) => <Checks v={v} /> },
                { key: "sha", label: "sha256", render: (v) => <code>{short(v.sha256)}</code> },
                { key: "created", label: "Created", render: (v) => <Time ms={(v.created_at as number | undefined) ?? null} /> },
              ]}
            />
            {d.versions.length > 1 && (
              <p>
                <a href={href(`/datasets/${name}/versions/${d.versions[0].version}`, { against: d.versions[1].version })}>
                  Drift between v{d.versions[1].version} and v{d.versions[0].version}
                </a>
              </p>
            )}
          </>
        )}
      </Show>
    </Page>
  );
}

function Checks({ v }: { v: DatasetVersion }) {
  if (!v.checks) return <span class="muted">none</span>;
  return <Badge kind={v.checks.passed ? "good" : "bad"}>{v.checks.passed ? "passed" : "failed"}</Badge>;
}

/** A small bar chart of a numeric column's histogram (SVG). */
function Histogram({ col }: { col: ProfileColumn }) {
  const h = col.histogram;
  if (!h || !h.counts?.length) return null;
  const max = Math.max(...h.counts, 1);
  const w = 160, ht = 40, bw = w / h.counts.length;
  return (
    <svg width={w} height={ht} role="img" aria-label={`histogram of ${col.name} from ${fmt(h.edges[0])} to ${fmt(h.edges[h.edges.length - 1])}`} class="hist">
      {h.counts.map((c, i) => (
        <rect key={i} x={i * bw} y={ht - (c / max) * ht} width={Math.max(bw - 1, 1)} height={(c / max) * ht}>
          <title>{`${fmt(h.edges[i])} – ${fmt(h.edges[i + 1])}: ${c}`}</title>
        </rect>
      ))}
    </svg>
  );
}

function topValues(col: ProfileColumn): { value: string; count: number }[] {
  const raw = (col.top ?? col.top_values ?? col.frequent) as unknown;
  if (Array.isArray(raw)) return raw as { value: string; count: number }[];
  if (raw && typeof raw === "object") return Object.entries(raw as Record<string, number>).map(([value, count]) => ({ value, count }));
  return [];
}

function index(p: number[], q: number[]): number {
  let sum = 0;
  p.forEach((pi, i) => {
    const x = Math.max(pi, 1e-4), y = Math.max(q[i], 1e-4);
    sum += (y - x) * Math.log(y / x);
  });
  return sum;
}

/** PSI over the top categories of two profiles of a categorical column. */
function categoricalPsi(a: ProfileColumn, b: ProfileColumn): number | null {
  const ta = topValues(a), tb = topValues(b);
  if (!ta.length || !tb.length) return null;
  const na = a.count || ta.reduce((x, t) => x + t.count, 0), nb = b.count || tb.reduce((x, t) => x + t.count, 0);
  const cats = [...new Set([...ta, ...tb].map((t) => t.value))];
  const share = (list: typeof ta, n: number) => cats.map((c) => (list.find((t) => t.value === c)?.count ?? 0) / n);
  return index(share(ta, na), share(tb, nb));
}

/** Population stability index between two profiles of the same column (drift). */
function psi(a: ProfileColumn, b: ProfileColumn): number | null {
  if (a.kind === "categorical" || b.kind === "categorical") return categoricalPsi(a, b);
  if (!a.histogram || !b.histogram || a.histogram.counts.length !== b.histogram.counts.length) return null;
  const ta = a.histogram.counts.reduce((x, y) => x + y, 0), tb = b.histogram.counts.reduce((x, y) => x + y, 0);
  if (!ta || !tb) return null;
  // Rebin b onto a's edges by the bin centres of b.
  const edges = a.histogram.edges;
  const rebinned = new Array(a.histogram.counts.length).fill(0);
  b.histogram.counts.forEach((c, i) => {
    const centre = (b.histogram!.edges[i] + b.histogram!.edges[i + 1]) / 2;
    let j = edges.findIndex((_e, k) => k < edges.length - 1 && centre < edges[k + 1]);
    if (j < 0) j = rebinned.length - 1;
    rebinned[j] += c;
  });
  return index(a.histogram.counts.map((c) => c / ta), rebinned.map((c) => c / tb));
}

export function DatasetVersionPage({ name, version }: { name: string; version: string }) {
  const loc = useLocation();
  const against = loc.query.get("against");
  const dv = useData((s) => get<DatasetVersion>(`/datasets/${seg(name)}/versions/${encodeURIComponent(version)}`, undefined, s), [name, version]);
  const base = useData((s) => (against ? get<DatasetVersion>(`/datasets/${seg(name)}/versions/${encodeURIComponent(against)}`, undefined, s) : Promise.resolve(null)), [name, against]);
  const versions = useData((s) => get<{ versions: DatasetVersion[] }>(`/datasets/${seg(name)}/versions`, undefined, s), [name]);
  if (dv.error) return <ErrorBox error={dv.error} />;
  if (!dv.data) return <Loading />;
  const v = dv.data;
  const cols = v.profile?.columns ?? [];
  const baseCols = new Map((base.data?.profile?.columns ?? []).map((c) => [c.name, c]));
  return (
    <Page title={`${name} v${v.version}`} actions={<Checks v={v} />}>
      <p class="crumbs">
        <a href={`/datasets/${name}`}>All versions</a> · {v.num_rows.toLocaleString()} rows · {fmt(v.num_bytes)} bytes · sha256 <code>{short(v.sha256)}</code>
      </p>
      <Section title="Schema and profile">
        <div class="table-wrap">
          <table aria-label="Schema and profile">
            <thead>
              <tr>
                <th scope="col">Column</th>
                <th scope="col">Type</th>
                <th scope="col" class="num">Nulls</th>
                <th scope="col" class="num">Min</th>
                <th scope="col" class="num">Mean</th>
                <th scope="col" class="num">Max</th>
                <th scope="col">Distribution</th>
                {base.data && <th scope="col" class="num">PSI vs v{base.data.version}</th>}
              </tr>
            </thead>
            <tbody>
              {v.schema.map((f) => {
                const c = cols.find((x) => x.name === f.name);
                const b = baseCols.get(f.name);
                const drift = c && b ? psi(b, c) : null;
                return (
                  <tr key={f.name} tabIndex={0}>
                    <th scope="row">{f.name}</th>
                    <td>{f.type}</td>
                    <td class="num">{c ? fmt(c.nulls) : "—"}</td>
                    <td class="num">{fmt(c?.min)}</td>
                    <td class="num">{fmt(c?.mean)}</td>
                    <td class="num">{fmt(c?.max)}</td>
                    <td>{c?.histogram ? <Histogram col={c} /> : <span>{topValues(c ?? ({} as ProfileColumn)).slice(0, 4).map((t) => `${t.value} (${t.count})`).join(", ")}</span>}</td>
                    {base.data && <td class="num">{drift === null ? "—" : <Badge kind={drift > 0.2 ? "bad" : drift > 0.1 ? "warn" : "good"}>{drift.toFixed(3)}</Badge>}</td>}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {(versions.data?.versions.length ?? 0) > 1 && (
          <p>
            <label>
              Drift against{" "}
              <select value={against ?? ""} onChange={(e) => setQuery({ against: (e.target as HTMLSelectElement).value || null }, true)}>
                <option value="">(none)</option>
                {versions.data!.versions.filter((x) => x.version !== v.version).map((x) => (
                  <option key={x.version} value={x.version}>v{x.version}</option>
                ))}
              </select>
            </label>
          </p>
        )}
        {base.error && <ErrorBox error={base.error} />}
      </Section>
      <Section title="Checks">{v.checks ? <CheckResults checks={v.checks} /> : <Empty>No expectation was checked for this version.</Empty>}</Section>
      <button type="button" class="link" onClick={() => navigate(`/datasets/${name}`)}>Back to versions</button>
    </Page>
  );
}

function CheckResults({ checks }: { checks: NonNullable<DatasetVersion["checks"]> }) {
  const results = (checks.results ?? checks.expectations ?? []) as Record<string, unknown>[];
  if (!Array.isArray(results) || !results.length) return <KeyValues label="Checks" values={checks} />;
  return (
    <Table
      label="Check results"
      rows={results}
      rowKey={(r) => JSON.stringify(r).slice(0, 200)}
      columns={[
        { key: "name", label: "Expectation", render: (r) => fmt(r.name ?? r.expectation ?? r.kind) },
        { key: "column", label: "Column", render: (r) => fmt(r.column) },
        { key: "passed", label: "Result", render: (r) => <Badge kind={r.passed ? "good" : "bad"}>{r.passed ? "passed" : "failed"}</Badge> },
        { key: "observed", label: "Observed", render: (r) => fmt(r.message ?? r.observed) },
      ]}
    />
  );
}
