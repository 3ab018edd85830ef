import { ApiError, post } from "../api";
import { LineChart, color } from "../chart";
import { Empty, ErrorBox, Loading, Page, Section, Show, fmt, short } from "../components";
import { useData } from "../data";
import { setQuery, useLocation } from "../router";
import { history } from "./run";
import type { Run } from "./types";

const MAX_COMPARE = 200;
const MAX_OVERLAYS = 12;

/** Several runs side by side: metric overlays, parallel coordinates, a param diff. */
export function Compare() {
  const loc = useLocation();
  const ids = (loc.query.get("runs") ?? "").split(",").filter(Boolean).slice(0, MAX_COMPARE);
  // One search for every run (the grammar's IN), not one request per run.
  const runs = useData(async (s) => {
    const filter = `attributes.run_id IN (${ids.map((id) => `'${id.replace(/'/g, "")}'`).join(", ")})`;
    const found = (await post<{ runs: Run[] }>("/runs/search", { filter, max_results: MAX_COMPARE }, s)).runs;
    const byId = new Map(found.map((r) => [r.id, r]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length) throw new ApiError(404, "not_found", `no run with id ${missing.map((m) => `'${m}'`).join(", ")}`);
    const list = ids.map((id) => byId.get(id)!);
    const { metric, overlaid } = overlayOf(list, loc.query.get("metric"));
    if (metric) prefetch(metric, overlaid, s);
    return list;
  }, [ids.join(",")]);
  if (ids.length === 0) return <Page title="Compare runs"><Empty>Pick runs in an experiment's table, then Compare.</Empty></Page>;
  if (runs.error) return <ErrorBox error={runs.error} />;
  if (!runs.data) return <Loading what={`Loading ${ids.length} runs`} />;
  const list = runs.data;
  const { metricKeys, metric, overlaid } = overlayOf(list, loc.query.get("metric"));
  const paramKeys = [...new Set(list.flatMap((r) => Object.keys(r.params)))].sort();
  const label = (r: Run) => r.name || short(r.id);
  return (
    <Page title={`Compare ${list.length} runs`}>
      <Section title="Param diff">
        <ParamDiff runs={list} keys={paramKeys} label={label} />
      </Section>
      <Section title="Parallel coordinates">
        <Parallel runs={list} params={paramKeys} metrics={metricKeys} label={label} />
      </Section>
      <Section title="Metric overlay">
        {metricKeys.length === 0 ? (
          <Empty>No metric logged by these runs.</Empty>
        ) : (
          <>
            <label>
              Metric{" "}
              <select value={metric} onChange={(e) => setQuery({ metric: (e.target as HTMLSelectElement).value }, true)}>
                {metricKeys.map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            </label>
            <Overlay key={metric} metric={metric} runs={overlaid} label={label} />
          </>
        )}
      </Section>
    </Page>
  );
}

/** The metrics of `runs`, the one to overlay (`asked` when they have it, else the first)
 * and the runs overlaid (the first MAX_OVERLAYS that logged it). */
function overlayOf(runs: Run[], asked: string | null) {
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const metric = asked && metricKeys.includes(asked) ? asked : metricKeys[0];
  const overlaid = metric === undefined ? [] : runs.filter((r) => metric in r.metrics).slice(0, MAX_OVERLAYS);
  return { metricKeys, metric, overlaid };
}

type Histories = Awaited<ReturnType<typeof history>>[];
const histories = (metric: string, runs: Run[], s: AbortSignal): Promise<Histories> => Promise.all(runs.map((r) => history(r.id, metric, s)));
const overlayKey = (metric: string, runs: Run[]) => `${metric}|${runs.map((r) => r.id).join(",")}`;

// The overlay's histories are asked for as soon as the runs arrive rather than after the
// page's first render: drawing a 200-run param diff and parallel plot takes a few hundred ms,
// which the requests now overlap. One entry: the page being opened.
let early: { key: string; histories: Promise<Histories> } | null = null;

function prefetch(metric: string, runs: Run[], signal: AbortSignal) {
  const pending = histories(metric, runs, signal);
  pending.catch(() => undefined); // its failure is reported by the Overlay that takes it
  early = { key: overlayKey(metric, runs), histories: pending };
}

function overlayHistories(metric: string, runs: Run[], signal: AbortSignal): Promise<Histories> {
  const taken = early;
  early = null;
  return taken?.key === overlayKey(metric, runs) ? taken.histories : histories(metric, runs, signal);
}

function Overlay({ metric, runs, label }: { metric: string; runs: Run[]; label: (r: Run) => string }) {
  const data = useData((s) => overlayHistories(metric, runs, s), [metric, runs.map((r) => r.id).join(",")]);
  return (
    <div class="metric">
      <Show loaded={data}>{(hs) => <LineChart title={`${metric} of ${runs.length} runs`} series={hs.map((h, i) => ({ label: label(runs[i]), x: h.step, y: h.value }))} />}</Show>
      {runs.length === MAX_OVERLAYS && <p class="muted">The first {MAX_OVERLAYS} runs are overlaid.</p>}
    </div>
  );
}

function ParamDiff({ runs, keys, label }: { runs: Run[]; keys: string[]; label: (r: Run) => string }) {
  if (!keys.length) return <Empty>No param logged by these runs.</Empty>;
  return (
    <div class="table-wrap">
      <table aria-label="Param diff">
        <thead>
          <tr>
            <th scope="col">Param</th>
            {runs.map((r) => (
              <th key={r.id} scope="col">
                <a href={`/runs/${r.id}`}>{label(r)}</a>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => {
            const values = runs.map((r) => r.params[k]);
            const differs = new Set(values.map(String)).size > 1;
            return (
              <tr key={k} class={differs ? "differs" : ""} tabIndex={0}>
                <th scope="row">
                  {k}
                  {differs && <span class="sr-only"> (differs)</span>}
                </th>
                {values.map((v, i) => (
                  <td key={i}>{fmt(v)}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Parallel coordinates (SVG): one axis per param/metric, one line per run. */
function Parallel({ runs, params, metrics, label }: { runs: Run[]; params: string[]; metrics: string[]; label: (r: Run) => string }) {
  const axes = [...params.map((k) => ({ name: k, value: (r: Run) => r.params[k] as unknown })), ...metrics.map((k) => ({ name: k, value: (r: Run) => r.metrics[k] as unknown }))].slice(0, 16);
  if (axes.length < 2) return <Empty>Needs at least two params or metrics.</Empty>;
  const width = Math.max(600, axes.length * 110), height = 260, top = 30, bottom = 20;
  const scales = axes.map((a) => {
    const values = runs.map(a.value).filter((v) => v !== undefined && v !== null);
    const numeric = values.every((v) => typeof v === "number" || (typeof v === "string" && v !== "" && !Number.isNaN(Number(v))));
    if (numeric) {
      const nums = values.map(Number);
      const lo = Math.min(...nums), hi = Math.max(...nums);
      return { y: (v: unknown) => (v === undefined || v === null ? null : hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo)), lo: fmt(lo), hi: fmt(hi) };
    }
    const cats = [...new Set(values.map(String))].sort();
    return { y: (v: unknown) => (v === undefined || v === null ? null : cats.length < 2 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)), lo: cats[0] ?? "", hi: cats[cats.length - 1] ?? "" };
  });
  const x = (i: number) => 40 + (i * (width - 80)) / (axes.length - 1);
  const y = (f: number) => top + (1 - f) * (height - top - bottom);
  return (
    <div class="table-wrap">
      <svg class="parallel" width={width} height={height} role="img" aria-label={`parallel coordinates of ${runs.length} runs over ${axes.map((a) => a.name).join(", ")}`}>
        {runs.map((r, ri) => {
          const pts = axes.map((a, i) => [x(i), scales[i].y(a.value(r))] as const).filter(([, f]) => f !== null).map(([px, f]) => `${px},${y(f as number)}`);
          return (
            <polyline key={r.id} points={pts.join(" ")} fill="none" stroke={color(ri)} stroke-width="1.5" opacity="0.8">
              <title>{label(r)}</title>
            </polyline>
          );
        })}
        {axes.map((a, i) => (
          <g key={a.name}>
            <line x1={x(i)} x2={x(i)} y1={top} y2={height - bottom} class="axis" />
            <text x={x(i)} y={14} text-anchor="middle" class="axis-label">{a.name}</text>
            <text x={x(i) + 4} y={top + 10} class="tick">{scales[i].hi}</text>
            <text x={x(i) + 4} y={height - bottom} class="tick">{scales[i].lo}</text>
          </g>
        ))}
      </svg>
    </div>
  );
}
