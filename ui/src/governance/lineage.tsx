// A lineage graph (GET /lineage) drawn client-side as SVG: causes left, effects right.
import { get } from "../api";
import { Empty, Show } from "../components";
import { useData } from "../data";

interface LNode {
  id: string;
  type: string;
  key: string;
  label: string;
  distance: number;
}
interface LEdge {
  source: string;
  target: string;
  relation: string;
}
interface Graph {
  root: string;
  truncated: boolean;
  nodes: LNode[];
  edges: LEdge[];
}

const W = 180, H = 36, GX = 70, GY = 14, PAD = 8;

/** The UI page of a node, where there is one. */
export function nodeHref(n: { type: string; key: string }): string | null {
  const versioned = /^(.*)\/(\d+)$/.exec(n.key);
  switch (n.type) {
    case "model_version":
      return versioned ? `/models/${versioned[1]}/versions/${versioned[2]}` : null;
    case "dataset_version":
      return versioned ? `/datasets/${versioned[1]}/versions/${versioned[2]}` : null;
    case "run":
      return `/runs/${n.key}`;
    case "deployment_revision":
      return `/endpoints/${versioned ? versioned[1] : n.key}`;
    case "alert":
      return `/alerts/${n.key}`;
    case "pipeline_run":
      return `/pipelines/runs/${n.key}`;
    default:
      return null;
  }
}

/** Column of each node: its longest chain of causes (bounded, so a cycle cannot loop). */
function layers(g: Graph): Map<string, number> {
  const layer = new Map(g.nodes.map((n) => [n.id, 0]));
  for (let pass = 0; pass < g.nodes.length; pass++) {
    let changed = false;
    for (const e of g.edges) {
      const next = (layer.get(e.source) ?? 0) + 1;
      if (layer.has(e.target) && next > layer.get(e.target)! && next < g.nodes.length) {
        layer.set(e.target, next);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return layer;
}

const clip = (text: string, max = 26) => (text.length > max ? text.slice(0, max - 1) + "…" : text);

export function LineageGraph({ graph }: { graph: Graph }) {
  const layer = layers(graph);
  const columns = new Map<number, LNode[]>();
  for (const n of graph.nodes) columns.set(layer.get(n.id)!, [...(columns.get(layer.get(n.id)!) ?? []), n]);
  const at = new Map<string, { x: number; y: number }>();
  for (const [col, nodes] of columns) nodes.forEach((n, row) => at.set(n.id, { x: PAD + col * (W + GX), y: PAD + row * (H + GY) }));
  const width = PAD * 2 + (Math.max(...columns.keys()) + 1) * (W + GX) - GX;
  const height = PAD * 2 + Math.max(...[...columns.values()].map((c) => c.length)) * (H + GY) - GY;
  return (
    <svg class="lineage" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="group" aria-label={`lineage of ${graph.root}: ${graph.nodes.length} objects, ${graph.edges.length} links`}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" />
        </marker>
      </defs>
      {graph.edges.map((e) => {
        const a = at.get(e.source), b = at.get(e.target);
        if (!a || !b) return null;
        const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
        return (
          <path key={`${e.source}>${e.target}>${e.relation}`} d={`M ${x1} ${y1} C ${x1 + GX / 2} ${y1}, ${x2 - GX / 2} ${y2}, ${x2} ${y2}`} marker-end="url(#arrow)">
            <title>{`${e.source} ${e.relation} ${e.target}`}</title>
          </path>
        );
      })}
      {graph.nodes.map((n) => {
        const p = at.get(n.id)!;
        const href = nodeHref(n);
        const body = (
          <>
            <rect x={p.x} y={p.y} width={W} height={H} rx={6} />
            <text x={p.x + 8} y={p.y + 14}>{clip(n.type.replace("_", " "))}</text>
            <text x={p.x + 8} y={p.y + 28}>{clip(n.label || n.key)}</text>
          </>
        );
        return (
          <g key={n.id} class={n.id === graph.root ? "root" : undefined} data-node={n.id}>
            <title>{n.id}</title>
            {href ? (
              <a href={href}>
                {body}
              </a>
            ) : (
              body
            )}
          </g>
        );
      })}
    </svg>
  );
}

/** The lineage around `ref_` (both directions, depth 8). */
export function Lineage({ ref_ }: { ref_: string }) {
  const graph = useData((s) => get<Graph>("/lineage", { ref: ref_, direction: "both", depth: 8 }, s), [ref_]);
  return (
    <Show loaded={graph}>
      {(g) =>
        g.nodes.length ? (
          <div style={{ overflowX: "auto" }}>
            <LineageGraph graph={g} />
            {g.truncated && <p class="muted">Truncated at depth 8: open a node for more.</p>}
          </div>
        ) : (
          <Empty>No lineage recorded.</Empty>
        )
      }
    </Show>
  );
}
