// Slots for capabilities that land on main after this UI (approvals, model cards, lineage):
// each is a list of panels the owning feature appends to; an empty list renders nothing.
import type { ComponentChildren } from "preact";

export interface ModelVersionRef {
  name: string;
  version: number;
}

/** Panels on a model version's page, e.g. approvals (approve/reject) or the model card;
 * `wide` spans the page's width (a graph, a long card). */
export const modelVersionPanels: { title: string; wide?: boolean; render: (v: ModelVersionRef) => ComponentChildren }[] = [];

/** Panels on a run's page, e.g. its lineage graph. */
export const runPanels: { title: string; wide?: boolean; render: (runId: string) => ComponentChildren }[] = [];

/** Sections of the overview, e.g. "versions awaiting approval". */
export const overviewPanels: { title: string; render: () => ComponentChildren }[] = [];

/** Extra pages: path pattern (router syntax), nav label (omit to hide from the nav), view. */
export const extraPages: { pattern: string; nav?: string; view: (params: Record<string, string>) => ComponentChildren }[] = [];
