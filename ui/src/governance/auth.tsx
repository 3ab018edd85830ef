// Signing in with an API token when the server asks for one (401), and who is signed in.
import { useState } from "preact/hooks";
import { get, session } from "../api";
import { ErrorBox, useTitle } from "../components";
import { useAction, useData } from "../data";
import { currentProject } from "../router";

/** What `GET /whoami` answers. */
export interface WhoAmI {
  name: string;
  kind: string;
  project: string;
  role: string;
  roles: Record<string, string> | null;
  /** The role's permission patterns (`*:read`, `approvals:decide`; `*:*` when unrestricted). */
  permissions: string[];
}

let asked: { key: string; answer: Promise<WhoAmI> } | null = null;

/** Who this tab acts as: `/whoami`, asked once per token and project (roles are per project). */
export function whoami(): Promise<WhoAmI> {
  const key = `${session.token()} ${currentProject()}`;
  if (!asked || asked.key !== key) {
    const answer = get<WhoAmI>("/whoami");
    asked = { key, answer };
    answer.catch(() => (asked = null));
  }
  return asked.answer;
}

/** Whether `who` holds `permission` ("<area>:<verb>"; a pattern's `*` matches any area or verb). */
export function can(who: WhoAmI | undefined, permission: string): boolean {
  const [area, verb] = permission.split(":");
  return (who?.permissions ?? []).some((p) => {
    const [a, v] = p.split(":");
    return (a === "*" || a === area) && (v === "*" || v === verb);
  });
}

/** The caller's identity for a view (undefined while it loads or when it cannot be read). */
export function useWho(): WhoAmI | undefined {
  return useData((_s) => whoami(), [session.token(), currentProject()]).data;
}

/** The sign-in view: an API token, checked against `/whoami`, kept in sessionStorage. */
export function SignIn({ reason, onSignedIn }: { reason: string; onSignedIn: () => void }) {
  useTitle("Sign in");
  const [token, setToken] = useState("");
  const { busy, error, run } = useAction();
  async function submit(event: Event) {
    event.preventDefault();
    session.signIn(token);
    if (await run(() => get<WhoAmI>("/whoami"))) onSignedIn();
    else session.signOut();
  }
  return (
    <section class="sign-in">
      <h1>Sign in</h1>
      <p>{reason}</p>
      <p>
        This server needs an API token. An admin creates one with <code>conveyor tokens create --user NAME</code> (it is shown once); <code>conveyor login</code> stores yours for the
        CLI and SDK. The token stays in this tab only (sessionStorage) and is sent as <code>Authorization: Bearer</code>.
      </p>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" placeholder="cvy_…" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={busy || !token.trim()}>
          Sign in
        </button>
      </form>
      {error && <ErrorBox error={error} />}
    </section>
  );
}

/** The header's "signed in as" with a sign-out, when this tab holds a token. */
export function SignedIn({ epoch, onSignOut }: { epoch: number; onSignOut: () => void }) {
  const who = useData((s) => (session.token() ? get<WhoAmI>("/whoami", undefined, s) : Promise.resolve(null)), [epoch, currentProject()]);
  if (!who.data) return null;
  return (
    <div class="who">
      <span>
        {who.data.name} <span class="muted">({who.data.role} in {who.data.project})</span>
      </span>
      <button
        type="button"
        onClick={() => {
          session.signOut();
          onSignOut();
        }}
      >
        Sign out
      </button>
    </div>
  );
}
