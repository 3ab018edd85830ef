import { blobUrl, fetchBlob, get, session } from "../api";
import { useEffect, useState } from "preact/hooks";
import { LineChart, useZoom, ZoomNote } from "../chart";
import { Empty, ErrorBox, KeyValues, Loading, Page, Section, Show, Status, Table, Time, fmt, short } from "../components";
import { useData } from "../data";
import { setQuery, useLocation } from "../router";
import { runPanels } from "../slots";
import type { Artifact, Run } from "./types";

interface ChartAnswer { steps: number[]; timestamps: number[]; values: (number | string)[]; points: number; downsampled: boolean }
interface ColumnsAnswer { steps: number[]; timestamps: number[]; values: (number | string)[] }

const numbers = (values: (number | string)[]) => Float64Array.from(values, (v) => (typeof v === "number" ? v : Number(v)));

/** Points a chart this wide can show: two (lowest, highest) per pixel column of the viewport. */
export const chartPoints = () => Math.min(8000, Math.max(400, 2 * Math.round(window.innerWidth)));

/**
 * One metric's history as typed columns (steps, times, values) for a chart: `all` every
 * point, else at most `chartPoints()` (min/max per step bucket, server-side), optionally
 * only the steps `range` covers.
 */
export async function history(runId: string, key: string, signal: AbortSignal, opts: { all?: boolean; range?: [number, number] | null } = {}) {
  if (opts.all) {
    const d = await get<ColumnsAnswer>(`/runs/${runId}/metric-columns`, { key }, signal);
    return { step: Float64Array.from(d.steps), time: Float64Array.from(d.timestamps), value: numbers(d.values), points: d.steps.length, downsampled: false };
  }
  const range = opts.range;
  const d = await get<ChartAnswer>(`/runs/${runId}/metric-chart`, { key, max_points: chartPoints(), min_step: range?.[0], max_step: range?.[1] }, signal);
  return { step: Float64Array.from(d.steps), time: Float64Array.from(d.timestamps), value: numbers(d.values), points: d.points, downsampled: d.downsampled };
}

/** A metric's chart: drag across it to load that range of steps at full detail. */
function MetricChart({ runId, metric, axis }: { runId: string; metric: string; axis: "step" | "time" }) {
  const { range: dragged, zoom, reset } = useZoom();
  const [all, setAll] = useState(false);
  const range: [number, number] | null = dragged && [Math.max(0, Math.ceil(dragged[0])), Math.max(0, Math.floor(dragged[1]))];
  const h = useData((s) => history(runId, metric, s, { all, range }), [runId, metric, all, range?.[0], range?.[1]]);
  const zoomable = axis === "step" && !all;
  return (
    <div class="metric">
      <h3>{metric}</h3>
      <Show loaded={h} what={`Loading ${metric}`}>
        {(d) => (
          <>
            <LineChart title={`${metric} by ${axis}`} time={axis === "time"} series={[{ label: metric, x: axis === "time" ? d.time : d.step, y: d.value }]} onZoom={zoomable ? zoom : undefined} />
            <p class="chart-note muted">
              {d.downsampled ? `${d.points.toLocaleString()} points${range ? ` in steps ${range[0]}–${range[1]}` : ""}, drawn as the lowest and highest value of each range of steps (${d.step.length.toLocaleString()} points on the chart)` : `${d.points.toLocaleString()} points${range ? ` in steps ${range[0]}–${range[1]}` : ""}`}
              {d.downsampled && !all && (
                <>
                  {" "}
                  ·{" "}
                  <button type="button" class="link" onClick={() => setAll(true)}>
                    Show all {d.points.toLocaleString()} points
                  </button>
                </>
              )}
              {(zoomable || range || all) && (
                <ZoomNote
                  hint={zoomable}
                  zoomed={!!(range || all)}
                  onReset={() => {
                    reset();
                    setAll(false);
                  }}
                />
              )}
            </p>
          </>
        )}
      </Show>
    </div>
  );
}

export function RunPage({ id }: { id: string }) {
  const loc = useLocation();
  const axis = loc.query.get("x") === "time" ? "time" : "step";
  const tab = loc.query.get("tab") ?? "overview";
  const run = useData((s) => get<Run>(`/runs/${encodeURIComponent(id)}`, undefined, s), [id]);
  if (run.error) return <ErrorBox error={run.error} />;
  if (!run.data) return <Loading />;
  const r = run.data;
  const metricKeys = Object.keys(r.metrics).sort();
  const tabs = [
    ["overview", "Overview"],
    ["metrics", `Charts (${metricKeys.length})`],
    ["artifacts", "Artifacts"],
  ];
  return (
    <Page title={`Run ${r.name || short(r.id)}`} actions={<Status value={r.status} />}>
      <p class="crumbs">
        <a href={`/experiments/${r.experiment_id}`}>Experiment runs</a> · id <code>{r.id}</code> · started <Time ms={r.start_time} /> · ended <Time ms={r.end_time} /> · by {r.user}
        {r.parent_run_id && (
          <>
            {" "}
            · parent <a href={`/runs/${r.parent_run_id}`}>{short(r.parent_run_id)}</a>
          </>
        )}
      </p>
      <nav class="tabs" aria-label="Run views">
        {tabs.map(([key, label]) => (
          <a key={key} href={`?tab=${key}`} aria-current={tab === key ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {tab === "overview" && (
        <div class="grid">
          <Section title="Metrics (latest)">
            <KeyValues label="Metrics" values={r.metrics} />
          </Section>
          <Section title="Params">
            <KeyValues label="Params" values={r.params} />
          </Section>
          <Section title="Tags">
            <KeyValues label="Tags" values={r.tags} />
          </Section>
          <Section title="Input datasets">
            <Table
              label="Input datasets"
              rows={r.inputs}
              rowKey={(i) => i.dataset_version_id + i.context}
              rowHref={(i) => `/datasets/${i.dataset}/versions/${i.version}`}
              empty="No input dataset logged (conveyor.log_input)."
              columns={[
                { key: "dataset", label: "Dataset", render: (i) => <a href={`/datasets/${i.dataset}/versions/${i.version}`}>{`${i.dataset} v${i.version}`}</a> },
                { key: "context", label: "Context", render: (i) => i.context },
                { key: "sha", label: "sha256", render: (i) => <code>{short(i.sha256)}</code> },
              ]}
            />
          </Section>
          <Section title="Source">
            <KeyValues label="Source" values={Object.fromEntries(Object.entries(r.source ?? {}).filter(([k]) => k !== "packages"))} />
          </Section>
          {runPanels.map((p) => (
            <Section key={p.title} title={p.title} wide={p.wide}>
              {p.render(r.id)}
            </Section>
          ))}
        </div>
      )}
      {tab === "metrics" && (
        <>
          <fieldset class="inline">
            <legend>X axis</legend>
            {(["step", "time"] as const).map((a) => (
              <label key={a}>
                <input type="radio" name="axis" checked={axis === a} onChange={() => setQuery({ x: a === "step" ? null : a }, true)} /> {a}
              </label>
            ))}
          </fieldset>
          {metricKeys.length === 0 ? <Empty>No metric logged.</Empty> : <div class="charts">{metricKeys.map((k) => <MetricChart key={k} runId={r.id} metric={k} axis={axis} />)}</div>}
        </>
      )}
      {tab === "artifacts" && <Artifacts runId={r.id} selected={loc.query.get("path")} />}
    </Page>
  );
}

function kindOf(path: string): "image" | "html" | "table" | "text" | "binary" {
  const ext = path.toLowerCase().split(".").pop() ?? "";
  if (["png", "jpg", "jpeg", "gif", "svg", "webp"].includes(ext)) return "image";
  if (["html", "htm"].includes(ext)) return "html";
  if (["csv", "tsv"].includes(ext)) return "table";
  if (["txt", "json", "yaml", "yml", "md", "log", "py", "toml", "cfg", "ini", "xml", "mlmodel", "jsonl"].includes(ext) || !path.includes(".")) return "text";
  return "binary";
}

const PREVIEW_BYTES = 512 * 1024;

/** An image blob: a plain URL without a token, else fetched with it (an <img> sends no header). */
function BlobImage({ sha256, alt }: { sha256: string; alt: string }) {
  const src = useData(async (s) => (session.token() ? URL.createObjectURL(await (await fetchBlob(sha256, s)).blob()) : blobUrl(sha256)), [sha256]);
  useEffect(() => () => void (src.data?.startsWith("blob:") && URL.revokeObjectURL(src.data)), [src.data]);
  if (src.error) return <ErrorBox error={src.error} />;
  if (!src.data) return <Loading what="Loading image" />;
  return <img class="preview" src={src.data} alt={alt} />;
}

/** A download link; with a token the bytes are fetched with it, then saved. */
function Download({ sha256, name }: { sha256: string; name: string }) {
  const [error, setError] = useState<string | null>(null);
  async function save(event: Event) {
    if (!session.token()) return; // the plain link works
    event.preventDefault();
    try {
      const url = URL.createObjectURL(await (await fetchBlob(sha256)).blob());
      const a = Object.assign(document.createElement("a"), { href: url, download: name });
      a.click();
      URL.revokeObjectURL(url);
    } catch (err) {
      setError(String((err as Error).message ?? err));
    }
  }
  return (
    <>
      <a href={blobUrl(sha256)} download={name} onClick={save}>
        Download
      </a>
      {error && <span role="alert"> {error}</span>}
    </>
  );
}

function Preview({ artifact }: { artifact: Artifact }) {
  const kind = kindOf(artifact.path);
  const text = useData(
    async (s) => {
      if (kind === "image" || kind === "binary" || artifact.size > PREVIEW_BYTES) return null;
      const response = await fetchBlob(artifact.sha256, s);
      return await response.text();
    },
    [artifact.sha256],
  );
  if (kind === "image") return <BlobImage sha256={artifact.sha256} alt={`artifact ${artifact.path}`} />;
  if (kind === "binary" || artifact.size > PREVIEW_BYTES)
    return (
      <p>
        No preview ({fmt(artifact.size)} bytes). <Download sha256={artifact.sha256} name={artifact.path.split("/").pop() ?? "artifact"} />
      </p>
    );
  if (text.error) return <ErrorBox error={text.error} />;
  if (text.data === undefined || text.data === null) return <Loading what="Loading preview" />;
  if (kind === "html") return <iframe class="preview" title={`report ${artifact.path}`} sandbox="" srcdoc={text.data} />;
  if (kind === "table") {
    const sep = artifact.path.endsWith(".tsv") ? "\t" : ",";
    const lines = text.data.split(/\r?\n/).filter(Boolean).slice(0, 101);
    const [head, ...body] = lines.map((l) => l.split(sep));
    return (
      <div class="table-wrap">
        <table aria-label={`preview of ${artifact.path}`}>
          <thead>
            <tr>{head?.map((h, i) => <th key={i} scope="col">{h}</th>)}</tr>
          </thead>
          <tbody>
            {body.map((row, i) => (
              <tr key={i}>{row.map((c, j) => <td key={j}>{c}</td>)}</tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  return <pre class="preview">{text.data}</pre>;
}

function Artifacts({ runId, selected }: { runId: string; selected: string | null }) {
  const list = useData((s) => get<{ artifacts: Artifact[] }>(`/runs/${runId}/artifacts`, undefined, s), [runId]);
  return (
    <Show loaded={list}>
      {(d) => {
        const current = d.artifacts.find((a) => a.path === selected) ?? null;
        return d.artifacts.length === 0 ? (
          <Empty>No artifact logged.</Empty>
        ) : (
          <div class="split">
            <ul class="files" aria-label="Artifacts">
              {d.artifacts.map((a) => (
                <li key={a.path}>
                  <a href={`?tab=artifacts&path=${encodeURIComponent(a.path)}`} aria-current={a.path === selected ? "true" : undefined}>
                    {a.path}
                  </a>{" "}
                  <span class="muted">{fmt(a.size)} B</span>
                </li>
              ))}
            </ul>
            <div class="viewer">{current ? <Preview key={current.sha256} artifact={current} /> : <Empty>Pick a file to preview it.</Empty>}</div>
          </div>
        );
      }}
    </Show>
  );
}
