import { useState } from "preact/hooks";
import { get } from "../api";
import { Badge, ErrorBox, Loading, Page, Section, Show, Table, Time, short } from "../components";
import { useData } from "../data";
import { href, setQuery, useLocation } from "../router";
import type { AuditEvent } from "./types";

const PAGE = 100;

/** The audit log (newest first), filtered by object and action, and the chain's status. */
export function Audit() {
  const loc = useLocation();
  const q = loc.query;
  const filters = { object_type: q.get("object_type") ?? "", object_id: q.get("object_id") ?? "", action: q.get("action") ?? "" };
  const before = q.get("before");
  const verify = useData((s) => get<{ ok: boolean; events: number; first_bad_seq: number | null; reason: string }>("/audit/verify", undefined, s), []);
  const events = useData(
    (s) => get<{ events: AuditEvent[] }>("/audit/events", { ...filters, newest_first: true, limit: PAGE + 1 }, s),
    [filters.object_type, filters.object_id, filters.action, before],
  );
  const [draft, setDraft] = useState(filters);
  return (
    <Page title="Audit log">
      <Section title="Chain verification">
        <Show loaded={verify}>
          {(v) =>
            v.ok ? (
              <p>
                <Badge kind="good">verified</Badge> {v.events.toLocaleString()} events, every hash links to the one before.
              </p>
            ) : (
              <p role="alert">
                <Badge kind="bad">broken</Badge> at event {v.first_bad_seq}: {v.reason}
              </p>
            )
          }
        </Show>
      </Section>
      <form
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ ...draft, before: null });
        }}
      >
        {(["object_type", "object_id", "action"] as const).map((k) => (
          <label key={k}>
            {k.replace("_", " ")}{" "}
            <input name={k} value={draft[k]} onInput={(e) => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value })} />
          </label>
        ))}
        <button type="submit">Filter</button>
      </form>
      {events.error ? (
        <ErrorBox error={events.error} />
      ) : !events.data ? (
        <Loading what="Loading events" />
      ) : (
        <>
          <Table
            label="Audit events"
            rows={events.data.events.slice(0, PAGE)}
            rowKey={(e) => String(e.seq)}
            empty="No event matches."
            columns={[
              { key: "seq", label: "Seq", numeric: true, render: (e) => e.seq },
              { key: "at", label: "When", render: (e) => <Time ms={e.created} /> },
              { key: "actor", label: "Actor", render: (e) => e.actor },
              { key: "action", label: "Action", render: (e) => <a href={href("/audit", { action: e.action })}>{e.action}</a> },
              { key: "object", label: "Object", render: (e) => <a href={href("/audit", { object_type: e.object_type, object_id: e.object_id })}>{`${e.object_type} ${short(e.object_id)}`}</a> },
              { key: "details", label: "Details", render: (e) => (Object.keys(e.details ?? {}).length ? <code>{JSON.stringify(e.details).slice(0, 120)}</code> : "—") },
              { key: "hash", label: "Hash", render: (e) => <code title={e.hash}>{short(e.hash)}</code> },
            ]}
          />
          {events.data.events.length > PAGE && <p class="muted">Showing the newest {PAGE}; narrow the filter to see older events.</p>}
        </>
      )}
    </Page>
  );
}
