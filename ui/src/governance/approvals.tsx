// Approval requests of a model version (history, approve/reject) and those awaiting a decision.
import { useState } from "preact/hooks";
import { get, post } from "../api";
import { Empty, ErrorBox, Show, Status, Time } from "../components";
import { useAction, useData } from "../data";
import type { ModelVersionRef } from "../slots";
import { can, useWho } from "./auth";

/** An approval request as the API answers it (`conveyor.governance.approvals.Approval`). */
export interface Approval {
  id: string;
  model: string;
  version: number;
  target: string;
  status: string;
  comment: string;
  requested_by: string;
  requested_at: number;
  decided_by: string | null;
  decided_at: number | null;
  decision_comment: string | null;
}

const versionHref = (a: { model: string; version: number }) => `/models/${a.model}/versions/${a.version}`;

/** Whether this caller may decide a request, and if not why (`GET /approvals/{id}/may-decide`). */
interface MayDecide {
  allowed: boolean;
  reason: string | null;
  rule: string | null;
}

/** The version's requests, newest first, each with its history and, while pending, a decision
 * form for those who may decide; below them a request form for those who may request. */
export function VersionApprovals({ v }: { v: ModelVersionRef }) {
  const list = useData((s) => get<{ approvals: Approval[] }>("/approvals", { model: v.name, limit: 200 }, s), [v.name, v.version]);
  const who = useWho();
  return (
    <>
      <Show loaded={list}>
        {(d) => {
          const mine = d.approvals.filter((a) => a.version === v.version);
          if (!mine.length) return <Empty>No approval request (conveyor approvals request {v.name}/{v.version} --target alias:champion).</Empty>;
          return (
            <>
              {mine.map((a) => (
                <ApprovalItem key={a.id} approval={a} onDecided={list.reload} />
              ))}
            </>
          );
        }}
      </Show>
      {can(who, "approvals:request") && <RequestApproval v={v} onRequested={list.reload} />}
    </>
  );
}

/** Ask for a version to be approved for a target (alias:<name> or deployment:<endpoint>). */
function RequestApproval({ v, onRequested }: { v: ModelVersionRef; onRequested: () => void }) {
  const [target, setTarget] = useState("alias:champion");
  const [comment, setComment] = useState("");
  const { busy, error, run } = useAction();
  async function submit(event: Event) {
    event.preventDefault();
    if (await run(() => post<Approval>("/approvals", { model: v.name, version: v.version, target: target.trim(), comment }))) {
      setComment("");
      onRequested();
    }
  }
  return (
    <details class="request-approval">
      <summary>Request an approval</summary>
      <form onSubmit={submit}>
        <label for="approval-target">Target (alias:&lt;name&gt; or deployment:&lt;endpoint&gt;)</label>
        <input id="approval-target" value={target} required onInput={(e) => setTarget((e.target as HTMLInputElement).value)} />
        <label for="approval-comment">Why (for the approver)</label>
        <textarea id="approval-comment" rows={2} value={comment} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
        <div class="buttons">
          <button type="submit" disabled={busy || !target.trim()}>
            Request approval
          </button>
        </div>
      </form>
      {error && <ErrorBox error={error} />}
    </details>
  );
}

function ApprovalItem({ approval: a, onDecided }: { approval: Approval; onDecided: () => void }) {
  const [comment, setComment] = useState("");
  const { busy, error, run } = useAction();
  const may = useData((s) => (a.status === "pending" ? get<MayDecide>(`/approvals/${encodeURIComponent(a.id)}/may-decide`, undefined, s) : Promise.resolve(null)), [a.id, a.status]);
  async function decide(decision: "approve" | "reject") {
    if (await run(() => post<Approval>(`/approvals/${encodeURIComponent(a.id)}/${decision}`, { comment }))) onDecided();
  }
  const field = `comment-${a.id}`;
  return (
    <article class="approval" data-approval={a.id}>
      <p>
        <strong>{a.target}</strong> <Status value={a.status} />
      </p>
      <ol aria-label={`history of request ${a.id}`}>
        <li>
          requested by {a.requested_by}, <Time ms={a.requested_at} />
          {a.comment && <>: “{a.comment}”</>}
        </li>
        {a.decided_by && (
          <li>
            {a.status} by {a.decided_by}, <Time ms={a.decided_at} />
            {a.decision_comment && <>: “{a.decision_comment}”</>}
          </li>
        )}
      </ol>
      {a.status === "pending" && may.data?.allowed && (
        <form onSubmit={(e) => e.preventDefault()}>
          <label for={field}>Comment (why; required)</label>
          <textarea id={field} rows={2} value={comment} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
          <div class="buttons">
            <button type="button" disabled={busy || !comment.trim()} onClick={() => decide("approve")}>
              Approve
            </button>
            <button type="button" disabled={busy || !comment.trim()} onClick={() => decide("reject")}>
              Reject
            </button>
          </div>
        </form>
      )}
      {a.status === "pending" && may.data && !may.data.allowed && (
        <p class="may-not muted" data-rule={may.data.rule ?? ""}>
          You cannot decide this request: {may.data.reason}
        </p>
      )}
      {may.error && <ErrorBox error={may.error} />}
      {error && <ErrorBox error={error} />}
    </article>
  );
}

/** The overview's "versions awaiting approval": every pending request. */
export function AwaitingApproval() {
  const list = useData((s) => get<{ approvals: Approval[] }>("/approvals", { status: "pending", limit: 50 }, s), []);
  return (
    <Show loaded={list}>
      {(d) =>
        d.approvals.length ? (
          <ul>
            {d.approvals.map((a) => (
              <li key={a.id}>
                <a href={versionHref(a)}>
                  {a.model} v{a.version}
                </a>{" "}
                for {a.target}, requested by {a.requested_by} <Time ms={a.requested_at} />
              </li>
            ))}
          </ul>
        ) : (
          <Empty>No version awaits approval.</Empty>
        )
      }
    </Show>
  );
}
