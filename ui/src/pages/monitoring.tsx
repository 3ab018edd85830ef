import { get } from "../api";
import { LineChart } from "../chart";
import { Empty, ErrorBox, KeyValues, Loading, Page, Section, Show, Status, Table, Time, fmt, type Column } from "../components";
import { useData } from "../data";
import { setQuery, useLocation } from "../router";
import type { Alert, Check, Monitor } from "./types";

type AlertColumn = "monitor" | "endpoint" | "state" | "severity" | "value" | "message" | "started" | "resolved";

const ALERT_COLUMNS: Record<AlertColumn, Column<Alert>> = {
  monitor: { key: "monitor", label: "Monitor", render: (a) => <a href={`/alerts/${a.id}`}>{a.monitor}</a> },
  endpoint: { key: "endpoint", label: "Endpoint", render: (a) => <a href={`/endpoints/${a.endpoint}`}>{a.endpoint}</a> },
  state: { key: "state", label: "State", render: (a) => <Status value={a.state} /> },
  severity: { key: "severity", label: "Severity", render: (a) => <Status value={a.severity} /> },
  value: { key: "value", label: "Value", numeric: true, render: (a) => fmt(a.value) },
  message: { key: "message", label: "Message", render: (a) => a.message },
  started: { key: "started", label: "Started", render: (a) => <Time ms={a.fired_at ?? a.started_at} /> },
  resolved: { key: "resolved", label: "Resolved", render: (a) => <Time ms={a.resolved_at} /> },
};

/** A table of alerts with the columns named (each row opens the alert). */
export function AlertsTable({ alerts, label, empty, columns }: { alerts: Alert[]; label: string; empty: string; columns: AlertColumn[] }) {
  return <Table label={label} rows={alerts} rowKey={(a) => a.id} rowHref={(a) => `/alerts/${a.id}`} empty={empty} columns={columns.map((c) => ALERT_COLUMNS[c])} />;
}

export function Monitoring() {
  const loc = useLocation();
  const open = loc.query.get("open") !== "0";
  const monitors = useData((s) => get<{ monitors: Monitor[] }>("/monitors", undefined, s), []);
  const alerts = useData((s) => get<{ alerts: Alert[] }>("/alerts", { open_only: open, limit: 200 }, s), [open]);
  return (
    <Page title="Monitoring">
      <Section title="Alerts">
        <label>
          <input type="checkbox" checked={!open} onChange={() => setQuery({ open: open ? "0" : null }, true)} /> Include resolved alerts
        </label>
        <Show loaded={alerts}>
          {(d) => (
            <AlertsTable alerts={d.alerts} label="Alerts" empty={open ? "No open alert." : "No alert yet."} columns={["monitor", "endpoint", "state", "severity", "value", "started", "resolved"]} />
          )}
        </Show>
      </Section>
      <Section title="Monitors">
        <Show loaded={monitors}>
          {(d) => (
            <Table
              label="Monitors"
              rows={d.monitors}
              rowKey={(m) => m.id}
              rowHref={(m) => `/monitors/${m.name}`}
              empty="No monitor yet: conveyor monitor create …"
              columns={[
                { key: "name", label: "Monitor", render: (m) => <a href={`/monitors/${m.name}`}>{m.name}</a> },
                { key: "endpoint", label: "Endpoint", render: (m) => m.endpoint },
                { key: "rule", label: "Rule", render: (m) => `${m.metric} ${m.comparison} ${fmt(m.threshold)}` },
                { key: "severity", label: "Severity", render: (m) => m.severity },
                { key: "enabled", label: "Enabled", render: (m) => (m.enabled ? "yes" : "no") },
                { key: "last", label: "Last check", render: (m) => <Time ms={m.last_evaluated_at} /> },
              ]}
            />
          )}
        </Show>
      </Section>
    </Page>
  );
}

/** Drift per column over time: one row per column, one cell per check (drifted or not). */
function DriftHeatmap({ checks }: { checks: Check[] }) {
  const ordered = [...checks].reverse();
  const columns = [...new Set(ordered.flatMap((c) => [...((c.details.drifted_columns as string[]) ?? []), ...Object.keys((c.details.columns as Record<string, unknown>) ?? {})]))].sort();
  if (!columns.length) return null;
  return (
    <div class="table-wrap">
      <table class="heatmap" aria-label="Drift per column over time">
        <thead>
          <tr>
            <th scope="col">Column</th>
            {ordered.map((c) => (
              <th key={c.id} scope="col">
                <Time ms={c.evaluated_at} />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {columns.map((col) => (
            <tr key={col}>
              <th scope="row">{col}</th>
              {ordered.map((c) => {
                const drifted = ((c.details.drifted_columns as string[]) ?? []).includes(col);
                return (
                  <td key={c.id} class={drifted ? "hot" : "cold"} title={drifted ? "drifted" : "no drift"}>
                    {drifted ? "drift" : "·"}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function MonitorPage({ name }: { name: string }) {
  const monitor = useData((s) => get<Monitor>(`/monitors/${encodeURIComponent(name)}`, undefined, s), [name]);
  const checks = useData((s) => get<{ checks: Check[] }>(`/monitors/${encodeURIComponent(name)}/checks`, { limit: 500 }, s), [name]);
  const alerts = useData((s) => get<{ alerts: Alert[] }>("/alerts", { monitor: name, limit: 50 }, s), [name]);
  if (monitor.error) return <ErrorBox error={monitor.error} />;
  if (!monitor.data) return <Loading />;
  const m = monitor.data;
  return (
    <Page title={`Monitor ${m.name}`}>
      <p class="crumbs">
        {m.metric} {m.comparison} {fmt(m.threshold)} on <a href={`/endpoints/${m.endpoint}`}>{m.endpoint}</a> · window {fmt(m.window_s)} s · every {fmt(m.schedule_s)} s
      </p>
      <Section title={`${m.metric} over time`}>
        <Show loaded={checks}>
          {(d) => {
            const pts = [...d.checks].reverse().filter((c) => typeof c.value === "number");
            return pts.length ? (
              <>
                <LineChart title={`${m.metric} over time`} time series={[{ label: m.metric, x: pts.map((c) => c.evaluated_at), y: pts.map((c) => c.value as number) }, { label: "threshold", x: pts.map((c) => c.evaluated_at), y: pts.map((c) => c.threshold) }]} />
                <DriftHeatmap checks={d.checks} />
              </>
            ) : (
              <Empty>No check has run yet.</Empty>
            );
          }}
        </Show>
      </Section>
      <Section title="Checks">
        <Show loaded={checks}>
          {(d) => (
            <Table
              label="Checks"
              rows={d.checks}
              rowKey={(c) => c.id}
              empty="No check yet."
              columns={[
                { key: "at", label: "Evaluated", render: (c) => <Time ms={c.evaluated_at} /> },
                { key: "status", label: "Status", render: (c) => <Status value={c.status} /> },
                { key: "value", label: "Value", numeric: true, render: (c) => fmt(c.value) },
                { key: "rows", label: "Rows", numeric: true, render: (c) => fmt(c.details.rows) },
              ]}
            />
          )}
        </Show>
      </Section>
      <Section title="Alerts">
        <Show loaded={alerts}>
          {(d) => (
            <AlertsTable alerts={d.alerts} label="Alerts of this monitor" empty="No alert from this monitor." columns={["state", "message", "started"]} />
          )}
        </Show>
      </Section>
    </Page>
  );
}

export function AlertPage({ id }: { id: string }) {
  const alert = useData((s) => get<Alert>(`/alerts/${encodeURIComponent(id)}`, undefined, s), [id]);
  if (alert.error) return <ErrorBox error={alert.error} />;
  if (!alert.data) return <Loading />;
  const a = alert.data;
  const lifecycle = [
    ["started", a.started_at],
    ["fired", a.fired_at],
    ["resolved", a.resolved_at],
  ] as const;
  return (
    <Page title={`Alert on ${a.monitor}`} actions={<Status value={a.state} />}>
      <p>{a.message}</p>
      <Section title="Lifecycle">
        <ol class="steps" aria-label="Alert lifecycle">
          {lifecycle.map(([label, at]) => (
            <li key={label} class={at ? "done" : ""}>
              {label} <Time ms={at} />
            </li>
          ))}
        </ol>
        <KeyValues label="Alert" values={{ monitor: a.monitor, endpoint: a.endpoint, severity: a.severity, value: a.value, threshold: a.threshold }} />
      </Section>
      <Section title="Notifications">
        <Table
          label="Notifications"
          rows={a.notifications ?? []}
          rowKey={(n) => `${n.notifier}-${n.event}-${n.at}`}
          empty="No notification sent."
          columns={[
            { key: "notifier", label: "Notifier", render: (n) => n.notifier },
            { key: "event", label: "Event", render: (n) => n.event },
            { key: "ok", label: "Delivered", render: (n) => <Status value={n.ok ? "ok" : "failed"} /> },
            { key: "at", label: "At", render: (n) => <Time ms={n.at} /> },
          ]}
        />
      </Section>
      <p>
        <a href={`/monitors/${a.monitor}`}>Monitor {a.monitor}</a> · <a href={`/endpoints/${a.endpoint}`}>Endpoint {a.endpoint}</a>
      </p>
    </Page>
  );
}
