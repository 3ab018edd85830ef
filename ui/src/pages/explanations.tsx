// A model version's global explanations: the stored summary of mean |SHAP| per feature.
import { get, seg } from "../api";
import { Empty, Show, Table, Time, fmt } from "../components";
import { useData } from "../data";

/** `GET /models/{name}/versions/{version}/explanation` (conveyor.explain.summary). */
interface Explanation {
  method: string;
  output: string;
  outputs: string[];
  base_values: number[];
  features: { name: string; mean_abs: number; mean: number }[];
  rows: number;
  data: string;
  shap_version: string;
  computed_at: number;
  by: string;
}

const SHOWN = 25;

/** Features by mean |SHAP| (largest first) as bars, with the mean's sign (the direction). */
export function GlobalExplanations({ name, version }: { name: string; version: number }) {
  const found = useData((s) => get<Explanation>(`/models/${seg(name)}/versions/${version}/explanation`, undefined, s), [name, version]);
  if (found.error?.status === 404) return <Empty>{found.error.message}</Empty>;
  return (
    <Show loaded={found} what="Loading the explanations">
      {(e) => {
        const top = Math.max(...e.features.map((f) => f.mean_abs), 0) || 1;
        const rows = e.features.slice(0, SHOWN);
        return (
          <>
            <p class="muted">
              {e.method} SHAP over {e.rows.toLocaleString()} rows ({e.data === "input_example" ? "the input example" : "given data"}), output {e.output}, computed <Time ms={e.computed_at} /> by {e.by}
            </p>
            <Table
              label="Global feature importance"
              rows={rows}
              rowKey={(f) => f.name}
              empty="The summary holds no feature."
              columns={[
                { key: "feature", label: "Feature", render: (f) => f.name },
                {
                  key: "importance",
                  label: "Mean |SHAP|",
                  render: (f) => (
                    <span class="importance">
                      <span class="bar" style={{ width: `${(100 * f.mean_abs) / top}%` }} aria-hidden="true" />
                      {fmt(f.mean_abs)}
                    </span>
                  ),
                },
                { key: "mean", label: "Mean SHAP", numeric: true, render: (f) => fmt(f.mean) },
              ]}
            />
            {e.features.length > SHOWN && <p class="muted">and {e.features.length - SHOWN} more features of lower importance.</p>}
          </>
        );
      }}
    </Show>
  );
}
