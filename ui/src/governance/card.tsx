// A model version's model card (Model Card Toolkit layout), its main sections from the JSON.
import { useState } from "preact/hooks";
import { get, patch, seg } from "../api";
import { ErrorBox, fmt, Show, Table } from "../components";
import { useAction, useData } from "../data";
import type { ModelVersion } from "../pages/types";
import type { ModelVersionRef } from "../slots";
import { can, useWho } from "./auth";

type Obj = Record<string, unknown>;

interface Metric {
  type: string;
  value: number | null;
  slice?: string;
  n?: number;
  source?: string;
  confidence_interval?: { lower_bound: number; upper_bound: number; method: string } | null;
}

interface Card {
  schema_version: string;
  model_details: Obj & { overview?: string; owners?: { name: string; contact?: string }[]; licenses?: Obj[]; version?: { name: string; date: string } };
  model_parameters: Obj & { model_architecture?: string; data?: Obj[]; input_format?: string; output_format?: string };
  quantitative_analysis: Obj & { performance_metrics?: Metric[] };
  considerations: Record<string, { description?: string; name?: string; mitigation_strategy?: string }[]>;
}

const CONSIDERATIONS: [string, string][] = [
  ["users", "Users"],
  ["use_cases", "Use cases"],
  ["out_of_scope_uses", "Out of scope"],
  ["limitations", "Limitations"],
  ["tradeoffs", "Trade-offs"],
  ["ethical_considerations", "Ethical considerations"],
];

const ci = (m: Metric) => (m.confidence_interval ? `[${fmt(m.confidence_interval.lower_bound)}, ${fmt(m.confidence_interval.upper_bound)}] (${m.confidence_interval.method})` : "—");

/** The card: details, parameters, performance and considerations (empty ones say how to fill them). */
export function ModelCard({ v }: { v: ModelVersionRef }) {
  const card = useData((s) => get<Card>(`/models/${seg(v.name)}/versions/${v.version}/card`, { resamples: 200 }, s), [v.name, v.version]);
  const who = useWho();
  return (
    <>
    {can(who, "models:write") && <CardFieldsEditor v={v} onSaved={card.reload} />}
    <Show loaded={card} what="Building the model card">
      {(c) => {
        const d = c.model_details;
        const p = c.model_parameters;
        const metrics = c.quantitative_analysis.performance_metrics ?? [];
        return (
          <div class="card-sections">
            <div>
              <h3>Model details</h3>
            <p>{d.overview ? String(d.overview) : <span class="muted">No overview (conveyor models card-set {v.name}/{v.version} --overview "…").</span>}</p>
            <dl>
              <dt>Version</dt>
              <dd>
                {d.version?.name} ({d.version?.date})
              </dd>
              <dt>Owners</dt>
              <dd>{(d.owners ?? []).map((o) => o.name + (o.contact ? ` <${o.contact}>` : "")).join(", ") || "—"}</dd>
              <dt>Licenses</dt>
              <dd>{(d.licenses ?? []).map((l) => String(l.identifier ?? l.custom_text ?? "")).join(", ") || "—"}</dd>
            </dl>
            </div>
            <div>
              <h3>Model parameters</h3>
            <dl>
              <dt>Architecture</dt>
              <dd>{p.model_architecture ?? "—"}</dd>
              <dt>Inputs</dt>
              <dd>{p.input_format || "—"}</dd>
              <dt>Outputs</dt>
              <dd>{p.output_format || "—"}</dd>
              <dt>Data</dt>
              <dd>{(p.data ?? []).map((x) => `${fmt(x.name)} (${fmt(x.role)})`).join(", ") || "—"}</dd>
            </dl>
            </div>
            <div>
              <h3>Performance</h3>
            <Table
              label="Performance metrics"
              rows={metrics}
              rowKey={(m) => `${m.type}|${m.slice ?? ""}`}
              empty="No metric: log metrics on the run or evaluate the version with gates."
              columns={[
                { key: "type", label: "Metric", render: (m) => m.type },
                { key: "slice", label: "Slice", render: (m) => m.slice || "all" },
                { key: "value", label: "Value", numeric: true, render: (m) => fmt(m.value) },
                { key: "ci", label: "95% interval", render: ci },
                { key: "source", label: "Source", render: (m) => fmt(m.source) },
              ]}
            />
            </div>
            <div>
              <h3>Considerations</h3>
            <dl>
              {CONSIDERATIONS.map(([key, label]) => {
                const items = c.considerations[key] ?? [];
                return [
                  <dt key={`t-${key}`}>{label}</dt>,
                  <dd key={`d-${key}`}>{items.length ? items.map((i) => i.description ?? (i.mitigation_strategy ? `${i.name}: ${i.mitigation_strategy}` : i.name)).join("; ") : <span class="muted">None recorded.</span>}</dd>,
                ];
              })}
            </dl>
            </div>
          </div>
        );
      }}
    </Show>
    </>
  );
}

/** The user-written card fields (Model Card Toolkit names): text, or one item per line. */
const EDITABLE: [string, string, "text" | "list"][] = [
  ["overview", "Overview", "text"],
  ["owners", "Owners", "list"],
  ["licenses", "Licenses", "list"],
  ["users", "Intended users", "list"],
  ["use_cases", "Intended use cases", "list"],
  ["out_of_scope_uses", "Out-of-scope uses", "list"],
  ["limitations", "Limitations", "list"],
  ["tradeoffs", "Trade-offs", "list"],
  ["ethical_considerations", "Ethical considerations (risk: mitigation)", "list"],
];

const CARD_TAG = "conveyor.card";

function currentFields(mv: ModelVersion): Record<string, string> {
  let stored: Record<string, unknown> = {};
  try {
    stored = JSON.parse(mv.tags?.[CARD_TAG] ?? "{}") as Record<string, unknown>;
  } catch {
    stored = {};
  }
  return Object.fromEntries(EDITABLE.map(([key]) => [key, Array.isArray(stored[key]) ? (stored[key] as string[]).join("\n") : String(stored[key] ?? "")]));
}

/** Edit the card's user-written fields (`PATCH .../card`, audited); for those who may write models. */
function CardFieldsEditor({ v, onSaved }: { v: ModelVersionRef; onSaved: () => void }) {
  const mv = useData((s) => get<ModelVersion>(`/models/${seg(v.name)}/versions/${v.version}`, undefined, s), [v.name, v.version]);
  const [draft, setDraft] = useState<Record<string, string> | null>(null);
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useAction();
  if (!mv.data) return null;
  const values = draft ?? currentFields(mv.data);
  async function save(event: Event) {
    event.preventDefault();
    setSaved(false);
    const fields = Object.fromEntries(EDITABLE.map(([key, , kind]) => [key, kind === "text" ? values[key].trim() : values[key].split("\n").map((l) => l.trim()).filter(Boolean)]));
    if (await run(() => patch(`/models/${seg(v.name)}/versions/${v.version}/card`, { fields }))) {
      setSaved(true);
      mv.reload();
      setDraft(null);
      onSaved();
    }
  }
  return (
    <details class="card-edit">
      <summary>Edit the card's fields</summary>
      <form onSubmit={save}>
        {EDITABLE.map(([key, label, kind]) => (
          <div key={key} class="field">
            <label for={`card-${key}`}>
              {label}
              {kind === "list" && <span class="muted"> (one per line)</span>}
            </label>
            <textarea id={`card-${key}`} name={key} rows={kind === "text" ? 3 : 2} value={values[key]} onInput={(e) => setDraft({ ...values, [key]: (e.target as HTMLTextAreaElement).value })} />
          </div>
        ))}
        <div class="buttons">
          <button type="submit" disabled={busy}>
            Save the card's fields
          </button>
          {saved && <span role="status">Saved.</span>}
        </div>
      </form>
      {error && <ErrorBox error={error} />}
    </details>
  );
}
