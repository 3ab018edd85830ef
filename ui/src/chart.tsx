// Line charts on uPlot (canvas; stays fast at 100k points per series).
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#4b5563", "#ea580c"];
export const color = (i: number) => PALETTE[i % PALETTE.length];

/** Align several (x, y) series on one sorted x axis (nulls where a series has no point). */
function align(series: Series[]): uPlot.AlignedData {
  if (series.length === 1) return [Array.from(series[0].x), Array.from(series[0].y)];
  const xs = new Set<number>();
  for (const s of series) for (let i = 0; i < s.x.length; i++) xs.add(s.x[i]);
  const x = Float64Array.from(xs).sort();
  const index = new Map<number, number>();
  x.forEach((v, i) => index.set(v, i));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(x.length).fill(null);
    for (let i = 0; i < s.x.length; i++) y[index.get(s.x[i])!] = s.y[i];
    return y;
  });
  return [Array.from(x), ...ys] as uPlot.AlignedData;
}

/** A line chart of `series`; `time`: the x axis holds epoch milliseconds. `onZoom`: a drag
 * over the plot asks for that x range (in the series' x units; the caller loads it or passes it
 * back as `range`) instead of zooming the points it has. `range`: the x range shown (null: all).
 * The figure carries the x range drawn as `data-x-min` / `data-x-max` (the series' x units). */
export function LineChart({
  series,
  title,
  time = false,
  height = 220,
  onZoom,
  range = null,
}: {
  series: Series[];
  title: string;
  time?: boolean;
  height?: number;
  onZoom?: (min: number, max: number) => void;
  range?: [number, number] | null;
}) {
  const box = useRef<HTMLElement>(null);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;
  const zoomable = onZoom !== undefined;
  const unit = time ? 1000 : 1; // uPlot's time scale is in seconds
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const data = align(
      time ? series.map((s) => ({ ...s, x: Array.from(s.x, (v) => v / 1000) })) : series,
    );
    const dark = matchMedia("(prefers-color-scheme: dark)").matches;
    const axis = { stroke: dark ? "#cbd5e1" : "#334155", grid: { stroke: dark ? "#334155" : "#e2e8f0" } };
    const shown = (u: uPlot) => {
      el.dataset.xMin = String((u.scales.x.min ?? 0) * unit);
      el.dataset.xMax = String((u.scales.x.max ?? 0) * unit);
    };
    const plot = new uPlot(
      {
        width: Math.max(el.clientWidth, 300),
        height,
        scales: { x: { time } },
        axes: [axis, axis],
        legend: { show: series.length > 1 },
        cursor: { drag: { x: true, y: false, setScale: !zoomable } },
        hooks: {
          setScale: [(u: uPlot, key: string) => key === "x" && shown(u)],
          ...(zoomable
            ? {
                setSelect: [
                  (u: uPlot) => {
                    if (u.select.width < 2) return;
                    const lo = u.posToVal(u.select.left, "x");
                    const hi = u.posToVal(u.select.left + u.select.width, "x");
                    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
                    zoom.current?.(lo * unit, hi * unit);
                  },
                ],
              }
            : {}),
        },
        series: [{ label: time ? "time" : "step" }, ...series.map((s, i) => ({ label: s.label, stroke: color(i), width: 1.5, spanGaps: true, points: { show: s.x.length <= 50, size: 6, fill: color(i) } }))],
      },
      data,
      el as HTMLElement,
    );
    if (range) plot.setScale("x", { min: range[0] / unit, max: range[1] / unit });
    shown(plot);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 300), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, time, height, zoomable, range?.[0], range?.[1]]);
  return <figure class="chart" role="img" aria-label={title} ref={box} />;
}

/** The x range a drag across a chart chose (null: everything), for `LineChart`'s `onZoom`
 * and `range`; `reset` goes back to everything. */
export function useZoom() {
  const [range, setRange] = useState<[number, number] | null>(null);
  return { range, zoom: (lo: number, hi: number) => setRange([lo, hi]), reset: () => setRange(null) };
}

/** A chart note's zoom controls: how to zoom (`hint`) and, once zoomed, a Reset button. */
export function ZoomNote({ hint = true, zoomed, onReset }: { hint?: boolean; zoomed: boolean; onReset: () => void }) {
  return (
    <>
      {hint && " · drag across the chart to zoom in"}
      {zoomed && (
        <>
          {" "}
          ·{" "}
          <button type="button" class="link" onClick={onReset}>
            Reset
          </button>
        </>
      )}
    </>
  );
}
