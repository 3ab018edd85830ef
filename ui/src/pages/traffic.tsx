// An endpoint's latency, throughput and errors over time, and a sample of its prediction log.
import { get, seg } from "../api";
import { LineChart, type Series, useZoom, ZoomNote } from "../chart";
import { Empty, Show, Table, Time, fmt } from "../components";
import { useData } from "../data";
import { setQuery, useLocation } from "../router";

/** `GET /deployments/{endpoint}/traffic` (conveyor.monitoring.traffic.EndpointTraffic). */
interface Traffic {
  endpoint: string;
  window: { start_ms: number; end_ms: number; seconds: number };
  bucket_ms: number;
  status: string;
  reason: string | null;
  starts: number[];
  requests: number[];
  rows: number[];
  latency_p50: (number | null)[];
  latency_p95: (number | null)[];
  latency_p99: (number | null)[];
  fallback_rate: (number | null)[];
  /** Failed requests' share per bucket (5xx when `client_error_rate` is given too); null throughout when the log records no failures. */
  error_rate: (number | null)[];
  /** 4xx share per bucket, from servers that log failed requests with their status. */
  client_error_rate?: (number | null)[];
  /** Where the error rate comes from, or why it is unknown. */
  error_source: string;
  summary: { requests: number; rows: number; latency_ms: Record<string, number | null>; throughput_rps: number | null; fallback_rate: number | null; error_rate: number | null; client_error_rate?: number | null };
}

interface LogRow { prediction_id: string; ts: number; model_version: string; route: string; latency_ms: number; inputs: Record<string, unknown>; output: string; label: string | null; shadow_of: string | null }
interface Sample { endpoint: string; total: number; rows: LogRow[] }

export const WINDOWS = ["1h", "6h", "1d", "7d"];
const BUCKETS = 60;

// uPlot draws a gap where a value is null
const series = (label: string, x: number[], y: (number | null)[]): Series => ({ label, x, y: y as number[] });

/** The charts and the window's totals; `window` is URL state (`?window=6h`). A drag across any
 * chart zooms all of them to that time range (Reset goes back). */
export function TrafficPanel({ endpoint }: { endpoint: string }) {
  const loc = useLocation();
  const window = WINDOWS.includes(loc.query.get("window") ?? "") ? loc.query.get("window")! : "1h";
  const traffic = useData((s) => get<Traffic>(`/deployments/${seg(endpoint)}/traffic`, { window, buckets: BUCKETS }, s), [endpoint, window]);
  const { range, zoom, reset } = useZoom();
  return (
    <>
      <fieldset class="inline">
        <legend>Window</legend>
        {WINDOWS.map((w) => (
          <label key={w}>
            <input
              type="radio"
              name="window"
              checked={window === w}
              onChange={() => {
                reset();
                setQuery({ window: w === "1h" ? null : w }, true);
              }}
            />{" "}
            last {w}
          </label>
        ))}
      </fieldset>
      <Show loaded={traffic} what="Reading the prediction log">
        {(t) => {
          if (t.status !== "ok") return <Empty>{t.reason ?? "No traffic in this window."}</Empty>;
          const perSecond = t.requests.map((n) => n / (t.bucket_ms / 1000));
          const s = t.summary;
          const logged = s.error_rate !== null;
          const chart = (title: string, lines: Series[]) => <LineChart title={title} time series={lines} onZoom={zoom} range={range} />;
          return (
            <>
              <p class="traffic-totals">
                {s.requests.toLocaleString()} requests ({s.rows.toLocaleString()} rows) · p50 {fmt(s.latency_ms.p50)} ms · p99 {fmt(s.latency_ms.p99)} ms · {fmt(s.throughput_rps)} requests/s · fallback{" "}
                {fmt(s.fallback_rate)} · errors {logged ? fmt(s.error_rate) : <span class="muted">not logged</span>}
                {logged && s.client_error_rate !== undefined && ` (client errors, 4xx: ${fmt(s.client_error_rate)})`}
              </p>
              <p class="chart-note muted">
                {range ? (
                  <>
                    <Time ms={range[0]} /> to <Time ms={range[1]} />
                  </>
                ) : (
                  `the last ${window} in ${t.starts.length} buckets`
                )}
                <ZoomNote zoomed={range !== null} onReset={reset} />
              </p>
              <div class="charts">
                <div class="metric">
                  <h3>Latency (ms, per request)</h3>
                  {chart("Latency p50, p95 and p99 over time", [series("p50", t.starts, t.latency_p50), series("p95", t.starts, t.latency_p95), series("p99", t.starts, t.latency_p99)])}
                </div>
                <div class="metric">
                  <h3>Throughput (requests/s)</h3>
                  {chart("Requests per second over time", [series("requests/s", t.starts, perSecond)])}
                </div>
                <div class="metric errors">
                  <h3>Error rate (share of requests)</h3>
                  {logged ? (
                    chart(
                      "Error rate over time",
                      t.client_error_rate
                        ? [series("server errors (5xx)", t.starts, t.error_rate), series("client errors (4xx)", t.starts, t.client_error_rate)]
                        : [series("error rate", t.starts, t.error_rate)],
                    )
                  ) : (
                    <p class="state empty not-logged">
                      Errors not logged: the prediction log of this window holds no failed request (no <code>status</code> or <code>error</code> column), so the error rate is unknown. The server
                      counts failures in <code>/metrics</code> (<code>conveyor_requests_total</code>); the fallback share is the log's sign of model errors.
                    </p>
                  )}
                  {logged && <p class="chart-note muted error-source">Source: {t.error_source}</p>}
                </div>
                <div class="metric">
                  <h3>Fallback share (rows answered by the fallback route)</h3>
                  {chart("Fallback share over time", [series("fallback share", t.starts, t.fallback_rate)])}
                </div>
              </div>
            </>
          );
        }}
      </Show>
    </>
  );
}

const inputsText = (inputs: Record<string, unknown>) =>
  Object.entries(inputs)
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(", ");

/** The newest rows of the prediction log (the last day), with inputs, output and label. */
export function PredictionSample({ endpoint }: { endpoint: string }) {
  const sample = useData((s) => get<Sample>(`/deployments/${seg(endpoint)}/predictions`, { window: "1d", limit: 50 }, s), [endpoint]);
  return (
    <Show loaded={sample} what="Reading the prediction log">
      {(d) => (
        <>
          {d.rows.length > 0 && (
            <p class="muted">
              The newest {d.rows.length} of {d.total.toLocaleString()} rows logged in the last day.
            </p>
          )}
          <Table
            label="Prediction log sample"
            rows={d.rows}
            rowKey={(r) => r.prediction_id}
            empty="No prediction logged in the last day."
            columns={[
              { key: "ts", label: "Time", render: (r) => <Time ms={r.ts} /> },
              { key: "id", label: "Prediction", render: (r) => <code>{r.prediction_id}</code> },
              { key: "version", label: "Version", render: (r) => r.model_version },
              { key: "route", label: "Route", render: (r) => r.route + (r.shadow_of ? " (shadow)" : "") },
              { key: "latency", label: "ms", numeric: true, render: (r) => fmt(r.latency_ms) },
              { key: "inputs", label: "Inputs", render: (r) => inputsText(r.inputs) },
              { key: "output", label: "Output", render: (r) => r.output },
              { key: "label", label: "Label", render: (r) => r.label ?? <span class="muted">—</span> },
            ]}
          />
        </>
      )}
    </Show>
  );
}
