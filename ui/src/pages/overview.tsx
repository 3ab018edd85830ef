import { get, post } from "../api";
import { Empty, Page, Section, Show, Status, Table, Time, short } from "../components";
import { useData } from "../data";
import { overviewPanels } from "../slots";
import { EndpointsTable } from "./endpoints";
import { AlertsTable } from "./monitoring";
import type { Alert, Deployment, Run } from "./types";

interface Rollout { endpoint: string; state: string; step?: number; candidate?: string; [key: string]: unknown }

export function Overview() {
  const endpoints = useData((s) => get<{ deployments: Deployment[] }>("/deployments", undefined, s), []);
  const alerts = useData((s) => get<{ alerts: Alert[] }>("/alerts", { open_only: true, limit: 50 }, s), []);
  const runs = useData((s) => post<{ runs: Run[] }>("/runs/search", { max_results: 10 }, s), []);
  const rollouts = useData(
    async (s) => {
      const list = endpoints.data?.deployments ?? [];
      const found = await Promise.all(list.map((d) => get<Rollout>(`/rollouts/${encodeURIComponent(d.name)}`, undefined, s).catch(() => null)));
      return found.filter((r): r is Rollout => r !== null && !["completed", "aborted", "promoted", "rolled_back"].includes(String(r.state)));
    },
    [endpoints.data],
  );
  return (
    <Page title="Overview">
      <div class="grid">
        <Section title="Endpoints">
          <Show loaded={endpoints}>
            {(d) => (
              <EndpointsTable deployments={d.deployments} updated={false} />
            )}
          </Show>
        </Section>
        <Section title="Firing alerts">
          <Show loaded={alerts}>
            {(d) => (
              <AlertsTable alerts={d.alerts} label="Firing alerts" empty="No open alert." columns={["monitor", "severity", "value", "started"]} />
            )}
          </Show>
        </Section>
        <Section title="Rollouts in progress">
          <Show loaded={rollouts}>
            {(list) =>
              list.length ? (
                <ul>
                  {list.map((r) => (
                    <li key={r.endpoint}>
                      <a href={`/endpoints/${r.endpoint}`}>{r.endpoint}</a> <Status value={String(r.state)} />
                    </li>
                  ))}
                </ul>
              ) : (
                <Empty>No rollout in progress.</Empty>
              )
            }
          </Show>
        </Section>
        {overviewPanels.map((p) => (
          <Section key={p.title} title={p.title}>
            {p.render()}
          </Section>
        ))}
      </div>
      <Section title="Recent runs">
        <Show loaded={runs}>
          {(d) => (
            <Table
              label="Recent runs"
              rows={d.runs}
              rowKey={(r) => r.id}
              rowHref={(r) => `/runs/${r.id}`}
              empty="No run yet (conveyor.start_run())."
              columns={[
                { key: "name", label: "Run", render: (r) => <a href={`/runs/${r.id}`}>{r.name || short(r.id)}</a> },
                { key: "status", label: "Status", render: (r) => <Status value={r.status} /> },
                { key: "experiment", label: "Experiment", render: (r) => <a href={`/experiments/${r.experiment_id}`}>{short(r.experiment_id)}</a> },
                { key: "start", label: "Started", render: (r) => <Time ms={r.start_time} /> },
              ]}
            />
          )}
        </Show>
      </Section>
    </Page>
  );
}
