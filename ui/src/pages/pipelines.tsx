import { get } from "../api";
import { Badge, Empty, ErrorBox, KeyValues, Loading, Page, Section, Show, Status, Table, Time, fmt, short } from "../components";
import { useData } from "../data";
import { setQuery, useLocation } from "../router";

interface Step { seq: number; step: string; name: string; status: string; cache: string; reason: string; run_id: string | null; error: string | null; started_at: number; ended_at: number }
interface PipelineRun {
  id: string; pipeline: string; target: string; params: Record<string, unknown>; status: string; error: string | null; executor: string;
  trigger_id: string | null; created_by: string; created_at: number; started_at: number | null; ended_at: number | null; steps: Step[];
}

const seconds = (a: number | null, b: number | null) => (a && b ? `${((b - a) / 1000).toFixed(2)} s` : "—");

export function Pipelines() {
  const loc = useLocation();
  const status = loc.query.get("status") ?? "";
  const runs = useData((s) => get<{ runs: PipelineRun[] }>("/pipelines/runs", { status: status || null, limit: 200 }, s), [status]);
  return (
    <Page title="Pipelines">
      <label>
        Status{" "}
        <select value={status} onChange={(e) => setQuery({ status: (e.target as HTMLSelectElement).value || null }, true)}>
          {["", "running", "succeeded", "failed"].map((s) => (
            <option key={s} value={s}>
              {s || "any"}
            </option>
          ))}
        </select>
      </label>
      <Show loaded={runs}>
        {(d) => (
          <Table
            label="Pipeline runs"
            rows={d.runs}
            rowKey={(r) => r.id}
            rowHref={(r) => `/pipelines/runs/${r.id}`}
            empty="No pipeline run yet: conveyor pipeline run <module:pipeline>."
            columns={[
              { key: "pipeline", label: "Pipeline", render: (r) => <a href={`/pipelines/runs/${r.id}`}>{r.pipeline}</a> },
              { key: "status", label: "Status", render: (r) => <Status value={r.status} /> },
              { key: "steps", label: "Steps", numeric: true, render: (r) => r.steps?.length ?? "—" },
              { key: "duration", label: "Duration", numeric: true, render: (r) => seconds(r.started_at, r.ended_at) },
              { key: "by", label: "By", render: (r) => r.created_by },
              { key: "at", label: "Started", render: (r) => <Time ms={r.started_at ?? r.created_at} /> },
            ]}
          />
        )}
      </Show>
    </Page>
  );
}

/** The steps of a run as a graph, left to right in the order they ran. */
function StepGraph({ steps }: { steps: Step[] }) {
  if (!steps.length) return <Empty>No step ran.</Empty>;
  const w = 170, h = 64, gap = 36;
  const width = steps.length * (w + gap);
  return (
    <div class="table-wrap">
      <svg class="dag" width={width} height={h + 20} role="img" aria-label={steps.map((s) => `${s.name}: cache ${s.cache}, ${s.status}`).join("; ")}>
        {steps.map((s, i) => {
          const x = i * (w + gap) + 4;
          return (
            <g key={s.seq}>
              {i > 0 && <line x1={x - gap} y1={h / 2 + 10} x2={x} y2={h / 2 + 10} class="edge" marker-end="url(#arrow)" />}
              <rect x={x} y={10} width={w} height={h} rx={6} class={`node ${s.cache === "hit" ? "hit" : "miss"} ${s.status}`} />
              <text x={x + 8} y={30} class="node-title">{s.name.length > 22 ? s.name.slice(0, 21) + "…" : s.name}</text>
              <text x={x + 8} y={48} class="node-sub">cache {s.cache} · {seconds(s.started_at, s.ended_at)}</text>
              <text x={x + 8} y={64} class="node-sub">{s.status}</text>
            </g>
          );
        })}
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrow" />
          </marker>
        </defs>
      </svg>
    </div>
  );
}

export function PipelineRunPage({ id }: { id: string }) {
  const run = useData((s) => get<PipelineRun>(`/pipelines/runs/${encodeURIComponent(id)}`, undefined, s), [id]);
  if (run.error) return <ErrorBox error={run.error} />;
  if (!run.data) return <Loading />;
  const r = run.data;
  const hits = r.steps.filter((s) => s.cache === "hit").length;
  return (
    <Page title={`Pipeline ${r.pipeline}`} actions={<Status value={r.status} />}>
      <p class="crumbs">
        run <code>{r.id}</code> · {r.executor} · {seconds(r.started_at, r.ended_at)} · <Time ms={r.started_at ?? r.created_at} /> · cache {hits}/{r.steps.length} hits
      </p>
      {r.error && (
        <div class="error" role="alert">
          <p>{r.error}</p>
        </div>
      )}
      <Section title="Graph">
        <StepGraph steps={r.steps} />
      </Section>
      <Section title="Steps">
        <Table
          label="Steps"
          rows={r.steps}
          rowKey={(s) => String(s.seq)}
          columns={[
            { key: "name", label: "Step", render: (s) => s.name },
            { key: "status", label: "Status", render: (s) => <Status value={s.status} /> },
            { key: "cache", label: "Cache", render: (s) => <Badge kind={s.cache === "hit" ? "good" : ""}>{s.cache}</Badge> },
            { key: "reason", label: "Why", render: (s) => s.reason },
            { key: "time", label: "Time", numeric: true, render: (s) => seconds(s.started_at, s.ended_at) },
            { key: "run", label: "Run", render: (s) => (s.run_id ? <a href={`/runs/${s.run_id}`}>{short(s.run_id)}</a> : "—") },
          ]}
        />
      </Section>
      <Section title="Params">
        <KeyValues label="Params" values={r.params} />
      </Section>
      <p class="muted">{fmt(r.target)}</p>
    </Page>
  );
}
