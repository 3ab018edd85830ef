import { render } from "preact";
import { useEffect, useErrorBoundary, useState } from "preact/hooks";
import { onUnauthenticated } from "./api";
import { SignedIn, SignIn } from "./governance/auth";
import { ProjectSwitcher } from "./governance/projects";
import "./governance/panels";
import "./style.css";
import { NotFound } from "./components";
import { currentProject, match, useLocation, type Params } from "./router";
import { extraPages } from "./slots";
import { Overview } from "./pages/overview";
import { Experiments, RunsTable } from "./pages/experiments";
import { RunPage } from "./pages/run";
import { Compare } from "./pages/compare";
import { DatasetPage, Datasets, DatasetVersionPage } from "./pages/datasets";
import { ModelPage, Models, ModelVersionPage } from "./pages/models";
import { EndpointPage, Endpoints } from "./pages/endpoints";
import { AlertPage, MonitorPage, Monitoring } from "./pages/monitoring";
import { PipelineRunPage, Pipelines } from "./pages/pipelines";
import { Audit } from "./pages/audit";
import type { ComponentChildren } from "preact";

type View = (params: Params) => ComponentChildren;

const ROUTES: [string, View][] = [
  ["/", () => <Overview />],
  ["/experiments", () => <Experiments />],
  ["/experiments/:id", (p) => <RunsTable experiment={p.id} />],
  ["/runs/:id", (p) => <RunPage id={p.id} />],
  ["/compare", () => <Compare />],
  ["/datasets", () => <Datasets />],
  ["/datasets/:name*/versions/:version", (p) => <DatasetVersionPage name={p.name} version={p.version} />],
  ["/datasets/:name*", (p) => <DatasetPage name={p.name} />],
  ["/models", () => <Models />],
  ["/models/:name*/versions/:version", (p) => <ModelVersionPage name={p.name} version={p.version} />],
  ["/models/:name*", (p) => <ModelPage name={p.name} />],
  ["/endpoints", () => <Endpoints />],
  ["/endpoints/:name*", (p) => <EndpointPage name={p.name} />],
  ["/monitoring", () => <Monitoring />],
  ["/monitors/:name", (p) => <MonitorPage name={p.name} />],
  ["/alerts/:id", (p) => <AlertPage id={p.id} />],
  ["/pipelines", () => <Pipelines />],
  ["/pipelines/runs/:id", (p) => <PipelineRunPage id={p.id} />],
  ["/audit", () => <Audit />],
];

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/experiments", "Experiments"],
  ["/datasets", "Datasets"],
  ["/models", "Models"],
  ["/endpoints", "Endpoints"],
  ["/monitoring", "Monitoring"],
  ["/pipelines", "Pipelines"],
  ["/audit", "Audit"],
];

function resolve(path: string): ComponentChildren {
  for (const page of extraPages) {
    const params = match(page.pattern, path);
    if (params) return page.view(params);
  }
  for (const [pattern, view] of ROUTES) {
    const params = match(pattern, path);
    if (params) return view(params);
  }
  return <NotFound message={`There is no page at ${path}.`} />;
}

/** A page that throws while rendering shows its message, never a stack trace. */
function Guard({ children }: { children: ComponentChildren }) {
  const [error, reset] = useErrorBoundary();
  if (error)
    return (
      <div class="error" role="alert">
        <strong>This page failed to render</strong>
        <p>{String((error as Error)?.message ?? error)}</p>
        <button type="button" onClick={reset}>
          Try again
        </button>
      </div>
    );
  return <>{children}</>;
}

function section(path: string): string {
  const first = "/" + (path.split("/")[1] ?? "");
  const aliases: Record<string, string> = { "/runs": "/experiments", "/compare": "/experiments", "/monitors": "/monitoring", "/alerts": "/monitoring" };
  return aliases[first] ?? first;
}

function App() {
  const loc = useLocation();
  const current = section(loc.path);
  // a 401 from any call shows the sign-in view; signing in bumps `epoch` to reload the page
  const [signIn, setSignIn] = useState<string | null>(null);
  const [epoch, setEpoch] = useState(0);
  useEffect(() => onUnauthenticated((error) => setSignIn(error.message)), []);
  const nav: [string, string][] = [...NAV, ...extraPages.filter((p) => p.nav).map((p) => [p.pattern, p.nav!] as [string, string])];
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          Conveyor
        </a>
        <nav aria-label="Sections">
          {nav.map(([path, label]) => (
            <a key={path} href={path} aria-current={current === path ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <div class="top-end">
          <ProjectSwitcher home={current} epoch={epoch} />
          <SignedIn epoch={epoch} onSignOut={() => setSignIn("You signed out.")} />
        </div>
      </header>
      <main id="main" key={`${loc.path}#${currentProject()}#${epoch}`}>
        {signIn !== null ? (
          <SignIn
            reason={signIn}
            onSignedIn={() => {
              setSignIn(null);
              setEpoch((n) => n + 1);
            }}
          />
        ) : (
          <Guard>{resolve(loc.path)}</Guard>
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
