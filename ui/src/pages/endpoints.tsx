import { ApiError, get, seg } from "../api";
import { Badge, Empty, ErrorBox, Loading, Page, Section, Show, Status, Table, Time, fmt, type Column } from "../components";
import { useData } from "../data";
import { AlertsTable } from "./monitoring";
import { PredictionSample, TrafficPanel } from "./traffic";
import type { Alert, Deployment, Revision } from "./types";

interface Decision { seq: number; action: string; state: string; step: number; weight: number; revision: number | null; analysis: { verdict?: string; checks?: Record<string, unknown>[] } | null; reason: string; actor: string; at: number }
interface Rollout {
  id: string; endpoint: string; candidate_model: string; candidate_version: number; primary_model: string; primary_version: number; state: string;
  step: number; config: { steps: number[] }; reason: string; created_at: number; ended_at: number | null; decisions: Decision[];
}

export function Endpoints() {
  const list = useData((s) => get<{ deployments: Deployment[] }>("/deployments", undefined, s), []);
  return (
    <Page title="Endpoints">
      <Show loaded={list}>
        {(d) => (
          <EndpointsTable deployments={d.deployments} />
        )}
      </Show>
    </Page>
  );
}

/** Endpoints with their revision, state and traffic split (each row opens the endpoint). */
export function EndpointsTable({ deployments, updated = true }: { deployments: Deployment[]; updated?: boolean }) {
  const columns: Column<Deployment>[] = [
    { key: "name", label: "Endpoint", render: (e) => <a href={`/endpoints/${e.name}`}>{e.name}</a> },
    { key: "revision", label: "Revision", numeric: true, render: (e) => e.current_revision },
    { key: "state", label: "State", render: (e) => <Status value={e.current?.rollout_state} /> },
    { key: "traffic", label: "Traffic split", render: (e) => <Split revision={e.current} /> },
  ];
  if (updated) columns.push({ key: "updated", label: "Updated", render: (e) => <Time ms={e.updated_at} /> });
  return (
    <Table
      label="Endpoints"
      rows={deployments}
      rowKey={(e) => e.name}
      rowHref={(e) => `/endpoints/${e.name}`}
      empty="No endpoint deployed yet: conveyor deploy <endpoint> --model <name>@<alias>."
      columns={columns}
    />
  );
}

function Split({ revision }: { revision: Revision | undefined }) {
  if (!revision) return <span class="muted">—</span>;
  return (
    <span class="split-bar" role="img" aria-label={revision.routes.map((r) => `${r.role} ${r.model}/${r.version} ${r.weight}%`).join(", ")}>
      {revision.routes.map((r) => (
        <span key={r.name} class={`seg ${r.role}`} style={{ flexGrow: Math.max(r.weight, 2) }} title={`${r.role}: ${r.model}/${r.version} (${r.weight}%)`}>
          {r.model}/{r.version} {r.weight}%
        </span>
      ))}
    </span>
  );
}

export function EndpointPage({ name }: { name: string }) {
  const dep = useData((s) => get<Deployment>(`/deployments/${seg(name)}`, undefined, s), [name]);
  const revisions = useData((s) => get<{ revisions: Revision[] }>(`/deployments/${seg(name)}/revisions`, undefined, s), [name]);
  const rollout = useData(
    (s) => get<Rollout>(`/rollouts/${encodeURIComponent(name)}`, undefined, s).catch((e: unknown) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))),
    [name],
  );
  const alerts = useData((s) => get<{ alerts: Alert[] }>("/alerts", { endpoint: name, limit: 20 }, s), [name]);
  if (dep.error) return <ErrorBox error={dep.error} />;
  if (!dep.data) return <Loading />;
  const d = dep.data;
  return (
    <Page title={`Endpoint ${d.name}`} actions={<Status value={d.current?.rollout_state} />}>
      {d.description && <p>{d.description}</p>}
      <p class="crumbs">
        Serves at <code>/serving/{d.name}</code> · revision {d.current_revision} · updated <Time ms={d.updated_at} />
      </p>
      <Section title="Traffic split">
        <Split revision={d.current} />
        <Table
          label="Routes"
          rows={d.current?.routes ?? []}
          rowKey={(r) => r.name}
          rowHref={(r) => `/models/${r.model}/versions/${r.version}`}
          columns={[
            { key: "role", label: "Role", render: (r) => r.role },
            { key: "model", label: "Model", render: (r) => <a href={`/models/${r.model}/versions/${r.version}`}>{`${r.model}/${r.version}`}</a> },
            { key: "alias", label: "Alias", render: (r) => (r.alias ? `@${r.alias}` : "—") },
            { key: "weight", label: "Weight %", numeric: true, render: (r) => fmt(r.weight) },
            { key: "runtime", label: "Runtime", render: (r) => fmt(d.current?.compiled?.[`${r.model}/${r.version}`]?.status) },
          ]}
        />
      </Section>
      <Section title="Rollout">
        <Show loaded={rollout}>{(r) => (r ? <RolloutView rollout={r} /> : <Empty>No progressive rollout on this endpoint (conveyor rollout start {name} --candidate &lt;model&gt;/&lt;version&gt;).</Empty>)}</Show>
      </Section>
      <Section title="Revisions">
        <Show loaded={revisions}>
          {(rv) => (
            <Table
              label="Revisions"
              rows={rv.revisions}
              rowKey={(r) => r.id}
              columns={[
                { key: "revision", label: "Revision", numeric: true, render: (r) => r.revision },
                { key: "state", label: "State", render: (r) => <Status value={r.rollout_state} /> },
                { key: "split", label: "Traffic", render: (r) => <Split revision={r} /> },
                { key: "reason", label: "Reason", render: (r) => r.reason + (r.restored_from ? ` (from ${r.restored_from})` : "") },
                { key: "by", label: "By", render: (r) => r.created_by },
                { key: "at", label: "Created", render: (r) => <Time ms={r.created_at} /> },
              ]}
            />
          )}
        </Show>
      </Section>
      <Section title="Alerts">
        <Show loaded={alerts}>
          {(a) => (
            <AlertsTable alerts={a.alerts} label="Alerts of this endpoint" empty="No alert on this endpoint." columns={["monitor", "state", "message", "started"]} />
          )}
        </Show>
      </Section>
      <Section title="Latency, throughput and errors">
        <TrafficPanel endpoint={d.name} />
      </Section>
      <Section title="Prediction log">
        <PredictionSample endpoint={d.name} />
      </Section>
    </Page>
  );
}

function RolloutView({ rollout: r }: { rollout: Rollout }) {
  const steps = r.config?.steps ?? [];
  return (
    <>
      <p>
        Candidate <a href={`/models/${r.candidate_model}/versions/${r.candidate_version}`}>{`${r.candidate_model}/${r.candidate_version}`}</a> against primary{" "}
        <a href={`/models/${r.primary_model}/versions/${r.primary_version}`}>{`${r.primary_model}/${r.primary_version}`}</a> · <Status value={r.state} /> · started <Time ms={r.created_at} />
      </p>
      <ol class="steps" aria-label="Rollout steps">
        {steps.map((w, i) => (
          <li key={i} class={i < r.step ? "done" : i === r.step ? "current" : ""}>
            {w}%
          </li>
        ))}
      </ol>
      <Table
        label="Decisions"
        rows={r.decisions}
        rowKey={(d) => String(d.seq)}
        empty="No decision yet."
        columns={[
          { key: "at", label: "At", render: (d) => <Time ms={d.at} /> },
          { key: "action", label: "Action", render: (d) => d.action },
          { key: "state", label: "State", render: (d) => <Status value={d.state} /> },
          { key: "weight", label: "Weight %", numeric: true, render: (d) => fmt(d.weight) },
          { key: "verdict", label: "Verdict", render: (d) => (d.analysis?.verdict ? <Badge>{d.analysis.verdict}</Badge> : "—") },
          {
            key: "stats",
            label: "Statistics",
            render: (d) =>
              d.analysis?.checks?.length ? (
                <details>
                  <summary>{d.analysis.checks.length} checks</summary>
                  <ul>
                    {d.analysis.checks.map((c, i) => (
                      <li key={i}>
                        {fmt(c.name)}: {fmt(c.verdict)} (candidate {fmt(c.candidate)}, primary {fmt(c.primary)}, p {fmt(c.p_value)}, samples {fmt(c.samples)})
                      </li>
                    ))}
                  </ul>
                </details>
              ) : (
                d.reason || "—"
              ),
          },
          { key: "actor", label: "By", render: (d) => d.actor },
        ]}
      />
    </>
  );
}
