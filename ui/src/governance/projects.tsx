// The header's project switcher: the projects the caller can see (`GET /projects`). The choice
// is URL state (`?project=NAME`: deep links, back and forward) and every API call sends it as
// `X-Conveyor-Project` (api.ts).
import { get } from "../api";
import { useData } from "../data";
import { currentProject, href, navigate, PROJECT_PARAM } from "../router";

/** What `GET /projects` lists (conveyor.governance.projects.Project). */
interface Project {
  id: string;
  name: string;
  description: string;
  created_at: number;
  /** The caller's role in it (`unrestricted`: a server without authentication). */
  role: string | null;
}

/** The project a request without `X-Conveyor-Project` acts in. */
export const DEFAULT_PROJECT = "default";

/** A select of the visible projects, shown when there is more than one to choose from;
 * choosing one opens `home` (the current section's first page) in it. */
export function ProjectSwitcher({ home, epoch }: { home: string; epoch: number }) {
  const project = currentProject() ?? DEFAULT_PROJECT;
  const list = useData((s) => get<{ projects: Project[] }>("/projects", undefined, s), [epoch, project]);
  if (list.data === undefined && !list.error) return null;
  // a project the caller cannot use answers an error: offer the way back to the default one
  const projects: Pick<Project, "name" | "role" | "description">[] = list.data?.projects ?? [{ name: DEFAULT_PROJECT, role: null, description: "" }];
  if (!projects.some((p) => p.name === project)) projects.push({ name: project, role: null, description: "not available to you" });
  if (projects.length < 2) return null;
  return (
    <label class="project-switch">
      Project{" "}
      <select value={project} onChange={(e) => navigate(href(home, { [PROJECT_PARAM]: (e.target as HTMLSelectElement).value }))}>
        {projects.map((p) => (
          <option key={p.name} value={p.name} title={p.description || undefined}>
            {p.name}
            {p.role && p.role !== "unrestricted" ? ` (${p.role})` : ""}
          </option>
        ))}
      </select>
    </label>
  );
}
