"""Conveyor against an older Conveyor: bench/tracking.py's workloads (ours only), two
source trees side by side on the same machine, alternating A, B, A, B.

Usage::

    git archive <old-commit> src | tar -x -C /tmp/old
    .venv/bin/python bench/tracking_ab.py --old /tmp/old/src --new src [--rounds 2]

Prints, per workload, each side's best figure and new/old (runs/s and points/s: higher is
better; per-call and search: lower is better), and the CPU seconds server and client spent
on the same fixed work: on a shared machine CPU time moves far less than wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import free_port, log, run_client, server_process

import tracking as bench

SIZES = {"per_call": 20_000, "batch_points": 200_000, "runs": 200, "search_runs": 10_000}


def _one(src: Path, reps: int) -> dict[str, Any]:
    python = bench._project_python()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    work = tmp / "cwd"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env.update(PYTHONPATH=str(src.resolve()), CONVEYOR_HOME=str(tmp / "home"))
    common = {
        "experiment": bench.SEARCH_EXPERIMENT,
        "filter": bench.SEARCH_FILTER,
        "max_results": 1000,
    }
    seed = {**common, "mode": "seed", "runs": SIZES["search_runs"], "who": "conveyor"}
    run_client(python, bench.OURS_CLIENT, seed, env=env, cwd=work, inherit_env=False)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with server_process(
        "conveyor-server",
        bench._ours_server_cmd(python, port),
        health_url=f"{url}/api/v1/health",
        base_url=url,
        env=env,
        cwd=work,
        inherit_env=False,
        log_dir=tmp,
    ) as srv:
        args = {
            **common,
            "mode": "bench",
            "who": "conveyor",
            "per_call": SIZES["per_call"],
            "batch_points": SIZES["batch_points"],
            "batch_size": 10_000,
            "runs": SIZES["runs"],
            "search_reps": reps,
            "server_pids": [srv.pid],
        }
        return run_client(
            python,
            bench.OURS_CLIENT,
            args,
            env={**env, "CONVEYOR_URI": url},
            cwd=work,
            inherit_env=False,
        )


#: workload -> (unit, higher is better)
WORKLOADS = {
    "per_call": ("calls/s", True),
    "batched": ("points/s", True),
    "runs": ("runs/s", True),
    "search": ("ms median", False),
    "per_call_cpu": ("CPU s", False),
    "batched_cpu": ("CPU s", False),
    "runs_cpu": ("CPU s", False),
    "search_cpu": ("CPU s", False),
}


def _figures(res: dict[str, Any]) -> dict[str, float]:
    out = {name: float(res[name]["per_s"]) for name in ("per_call", "batched", "runs")}
    out["search"] = statistics.median(res["search"]["samples_s"]) * 1e3
    for name in WORKLOADS:
        if name.endswith("_cpu"):
            part = res[name.removesuffix("_cpu")]
            out[name] = float(part["server_cpu_s"]) + float(part["client_cpu_s"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", required=True, type=Path, help="the old src/ folder")
    parser.add_argument("--new", required=True, type=Path, help="the new src/ folder")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--search-reps", type=int, default=15)
    args = parser.parse_args()
    best: dict[str, dict[str, float]] = {"old": {}, "new": {}}
    for i in range(args.rounds):
        for side in ("old", "new"):
            log(f"round {i + 1}: {side}")
            figures = _figures(_one(getattr(args, side), args.search_reps))
            for name, value in figures.items():
                keep = max if WORKLOADS[name][1] else min
                prev = best[side].get(name)
                best[side][name] = value if prev is None else keep(prev, value)
    print("| workload | unit | old | new | new/old |\n|---|---|---:|---:|---:|")
    for name, (unit, _higher) in WORKLOADS.items():
        old, new = best["old"][name], best["new"][name]
        print(f"| {name} | {unit} | {old:,.1f} | {new:,.1f} | {new / old:.3f} |")


if __name__ == "__main__":
    main()
