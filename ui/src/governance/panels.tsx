// Registers the governance panels (approvals, model card, lineage) in the UI's slots.
import { modelVersionPanels, overviewPanels, runPanels } from "../slots";
import { AwaitingApproval, VersionApprovals } from "./approvals";
import { ModelCard } from "./card";
import { Lineage } from "./lineage";

modelVersionPanels.push(
  { title: "Approvals", render: (v) => <VersionApprovals v={v} /> },
  { title: "Model card", wide: true, render: (v) => <ModelCard v={v} /> },
  { title: "Lineage", wide: true, render: (v) => <Lineage ref_={`model:${v.name}/${v.version}`} /> },
);
runPanels.push({ title: "Lineage", wide: true, render: (id) => <Lineage ref_={`run:${id}`} /> });
overviewPanels.push({ title: "Versions awaiting approval", render: () => <AwaitingApproval /> });
