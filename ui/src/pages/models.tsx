import { get, seg } from "../api";
import { Badge, Empty, ErrorBox, KeyValues, Loading, Page, Section, Show, Status, Table, Time, fmt, short } from "../components";
import { useData } from "../data";
import { ListPage } from "../listview";
import { GlobalExplanations } from "./explanations";
import { modelVersionPanels } from "../slots";
import type { Model, ModelVersion } from "./types";

export function Models() {
  return (
    <ListPage<Model>
      title="Models"
      path="/models"
      field="models"
      defaultSort={{ key: "name", desc: false }}
      rowKey={(m) => m.id}
      rowHref={(m) => `/models/${m.name}`}
      empty="No registered model yet: conveyor.register_model('runs:/<run>/model', 'name')."
      columns={[
        { key: "name", label: "Name", sort: (m) => m.name, render: (m) => <a href={`/models/${m.name}`}>{m.name}</a> },
        { key: "latest", label: "Latest", numeric: true, sort: (m) => m.latest_version, render: (m) => m.latest_version },
        { key: "aliases", label: "Aliases", render: (m) => <Aliases aliases={m.aliases} model={m.name} /> },
        { key: "updated", label: "Updated", sort: (m) => m.updated_at, render: (m) => <Time ms={m.updated_at} /> },
      ]}
    />
  );
}

function Aliases({ aliases, model }: { aliases: Record<string, number>; model: string }) {
  const entries = Object.entries(aliases ?? {});
  if (!entries.length) return <span class="muted">—</span>;
  return (
    <>
      {entries.map(([a, v]) => (
        <a key={a} class="badge alias" href={`/models/${model}/versions/${v}`}>
          @{a} → v{v}
        </a>
      ))}
    </>
  );
}

export function ModelPage({ name }: { name: string }) {
  const model = useData((s) => get<Model>(`/models/${seg(name)}`, undefined, s), [name]);
  const versions = useData((s) => get<{ versions: ModelVersion[] }>(`/models/${seg(name)}/versions`, undefined, s), [name]);
  if (model.error) return <ErrorBox error={model.error} />;
  if (!model.data) return <Loading />;
  const m = model.data;
  return (
    <Page title={`Model ${m.name}`}>
      {m.description && <p>{m.description}</p>}
      <Section title="Aliases">
        <Aliases aliases={m.aliases} model={m.name} />
      </Section>
      <Section title="Versions">
        <Show loaded={versions}>
          {(d) => (
            <Table
              label="Versions"
              rows={d.versions}
              rowKey={(v) => v.id}
              rowHref={(v) => `/models/${name}/versions/${v.version}`}
              empty="No version registered yet."
              columns={[
                { key: "version", label: "Version", numeric: true, render: (v) => <a href={`/models/${name}/versions/${v.version}`}>v{v.version}</a> },
                { key: "aliases", label: "Aliases", render: (v) => v.aliases.map((a) => `@${a}`).join(" ") || "—" },
                { key: "flavor", label: "Flavor", render: (v) => v.flavor },
                { key: "approval", label: "Approval", render: (v) => <Status value={v.approval} /> },
                { key: "run", label: "Run", render: (v) => (v.run_id ? <a href={`/runs/${v.run_id}`}>{short(v.run_id)}</a> : "—") },
                { key: "created", label: "Created", render: (v) => <Time ms={v.created_at} /> },
              ]}
            />
          )}
        </Show>
      </Section>
    </Page>
  );
}

interface GateCheck { name?: string; gate?: string; kind?: string; passed?: boolean; status?: string; value?: unknown; threshold?: unknown; message?: string; evidence?: unknown; [k: string]: unknown }
interface GateReport { passed?: boolean; status?: string; created_at?: number; results?: GateCheck[]; gates?: GateCheck[]; checks?: GateCheck[]; [k: string]: unknown }

function GateReportView({ name, version }: { name: string; version: number }) {
  const report = useData((s) => get<GateReport>(`/models/${seg(name)}/versions/${version}/gate-reports/latest`, undefined, s), [name, version]);
  if (report.error?.status === 404) return <Empty>{report.error.message}</Empty>;
  return (
    <Show loaded={report}>
      {(r) => {
        const gates = (r.results ?? r.gates ?? r.checks ?? []) as GateCheck[];
        const verdict = r.passed ?? r.status === "passed";
        return (
          <>
            <p>
              <Badge kind={verdict ? "good" : "bad"}>{verdict ? "passed" : "failed"}</Badge> <Time ms={(r.created_at as number) ?? null} />
            </p>
            <Table
              label="Gate results"
              rows={gates}
              rowKey={(g) => String(g.name ?? g.gate ?? JSON.stringify(g).slice(0, 80))}
              empty="The report holds no gate."
              columns={[
                { key: "gate", label: "Gate", render: (g) => fmt(g.name ?? g.gate ?? g.kind) },
                { key: "result", label: "Result", render: (g) => <Status value={String(g.verdict ?? (g.passed ? "pass" : "fail"))} /> },
                { key: "value", label: "Value", numeric: true, render: (g) => fmt(g.value ?? g.observed) },
                { key: "threshold", label: "Threshold", render: (g) => fmt(g.threshold) },
                { key: "message", label: "Evidence", render: (g) => <Evidence gate={g} /> },
              ]}
            />
          </>
        );
      }}
    </Show>
  );
}

function Evidence({ gate }: { gate: GateCheck }) {
  const ev = gate.evidence;
  if (ev && typeof ev === "object" && Array.isArray((ev as { rows?: unknown }).rows)) {
    const rows = (ev as { rows: Record<string, unknown>[] }).rows;
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return (
      <details>
        <summary>{gate.message ?? `${rows.length} rows`}</summary>
        <table aria-label={`evidence of ${gate.name ?? "gate"}`}>
          <thead><tr>{keys.map((k) => <th key={k} scope="col">{k}</th>)}</tr></thead>
          <tbody>{rows.slice(0, 100).map((r, i) => <tr key={i}>{keys.map((k) => <td key={k}>{fmt(r[k])}</td>)}</tr>)}</tbody>
        </table>
      </details>
    );
  }
  if (ev && typeof ev === "object") return (
    <details>
      <summary>{gate.message ?? "evidence"}</summary>
      <KeyValues label="Evidence" values={ev as Record<string, unknown>} />
    </details>
  );
  return <>{gate.message ?? fmt(ev)}</>;
}

export function ModelVersionPage({ name, version }: { name: string; version: string }) {
  const mv = useData((s) => get<ModelVersion>(`/models/${seg(name)}/versions/${encodeURIComponent(version)}`, undefined, s), [name, version]);
  if (mv.error) return <ErrorBox error={mv.error} />;
  if (!mv.data) return <Loading />;
  const v = mv.data;
  return (
    <Page title={`${v.name} v${v.version}`} actions={<Status value={v.approval} />}>
      <p class="crumbs">
        <a href={`/models/${v.name}`}>All versions</a> · {v.flavor} · by {v.created_by} · <Time ms={v.created_at} />
        {v.run_id && (
          <>
            {" "}· from run <a href={`/runs/${v.run_id}`}>{short(v.run_id)}</a>
          </>
        )}
        {v.aliases.length > 0 && <> · {v.aliases.map((a) => `@${a}`).join(" ")}</>}
      </p>
      <div class="grid">
        <Section title="Gate report">
          <GateReportView name={v.name} version={v.version} />
        </Section>
        <Section title="Signature">
          {v.signature ? <pre class="preview">{JSON.stringify(v.signature, null, 2)}</pre> : <Empty>No signature.</Empty>}
        </Section>
        <Section title="Tags">
          <KeyValues label="Tags" values={v.tags} />
        </Section>
        <Section title="Files">
          <Table
            label="Files"
            rows={v.files}
            rowKey={(f) => f.path}
            columns={[
              { key: "path", label: "Path", render: (f) => f.path },
              { key: "size", label: "Bytes", numeric: true, render: (f) => fmt(f.size) },
              { key: "sha", label: "sha256", render: (f) => <code>{short(f.sha256)}</code> },
            ]}
          />
        </Section>
        <Section title="Global explanations">
          <GlobalExplanations name={v.name} version={v.version} />
        </Section>
        {modelVersionPanels.map((p) => (
          <Section key={p.title} title={p.title} wide={p.wide}>
            {p.render({ name: v.name, version: v.version })}
          </Section>
        ))}
      </div>
    </Page>
  );
}
