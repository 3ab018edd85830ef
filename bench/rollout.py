"""Rollout decisions, simulated: how fast a worse candidate is rolled back, how often an
equal one is rolled back by mistake.

No wall-clock waiting: the real controller (store, state machine, revisions, analysis)
runs over a temporary SQLite store, time is passed to ``tick(now=...)``, and each step's
traffic is drawn from the stated rates through the controller's sample seam instead of
being served. Per step: ``rps * interval`` requests split by the step's weight; errors,
latencies (log-normal), outputs and labelled correctness drawn per route.

    python bench/rollout.py                    # 100 equal + 100 worse rollouts
    python bench/rollout.py --rollouts 20      # quicker
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Traffic:
    """What the simulated routes do."""

    rps: float = 200.0
    error_rate: float = 0.01
    candidate_extra_errors: float = 0.0
    latency_ms: float = 5.0
    positive_rate: float = 0.3
    accuracy: float = 0.85
    label_coverage: float = 0.1


def _route(rng: np.random.Generator, n: int, errors: float, t: Traffic) -> Any:
    from conveyor.deployments.rollout_analysis import RouteSample

    failed = int(rng.binomial(n, min(errors, 1.0)))
    ok = n - failed
    labelled = int(rng.binomial(ok, t.label_coverage))
    return RouteSample(
        requests=n,
        errors=failed,
        latency_ms=rng.lognormal(np.log(t.latency_ms), 0.5, ok),
        outputs=(rng.random(ok) < t.positive_rate).astype(np.int64),
        correct=(rng.random(labelled) < t.accuracy).astype(np.float64),
    )


class Simulation:
    """Draws each step window's candidate and primary samples from ``Traffic``."""

    def __init__(self, traffic: Traffic, seed: int) -> None:
        self.t = traffic
        self.rng = np.random.default_rng(seed)

    def __call__(self, r: Any, window: Any) -> tuple[Any, Any]:
        n = int(self.t.rps * window.seconds)
        n_cand = int(self.rng.binomial(n, r.weight / 100.0))
        cand = _route(self.rng, n_cand, self.t.error_rate + self.t.candidate_extra_errors, self.t)
        prim = _route(self.rng, n - n_cand, self.t.error_rate, self.t)
        return cand, prim


def _setup() -> Any:
    os.environ["CONVEYOR_HOME"] = tempfile.mkdtemp(prefix="conveyor-bench-rollout-")
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import conveyor

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(X, [0, 1, 0, 1])
    for _ in range(2):
        with conveyor.start_run():
            conveyor.log_model(model, "model", input_example=X, registered_model_name="churn")
    return conveyor.connect()


def simulate(backend: Any, traffic: Traffic, n: int, interval_s: float, tag: str) -> dict:
    """``n`` rollouts of churn/2 over churn/1; each ticked once per interval until it ends."""
    from conveyor.deployments import deploy_endpoint
    from conveyor.deployments import rollout as ro
    from conveyor.deployments.rollout_controller import RolloutController

    outcomes: dict[str, int] = {}
    intervals_to_end: list[int] = []
    decide_s: list[float] = []
    config = ro.make_config(interval=interval_s)
    for i in range(n):
        endpoint = f"{tag}-{i}"
        deploy_endpoint(backend, endpoint, model="churn/1", compile=False)
        with backend.meta.write(backend.actor) as uow:
            ro.start(uow, endpoint, "churn/2", config)
        controller = RolloutController(backend.meta, sample_reader=Simulation(traffic, seed=i))
        now = 1_800_000_000_000
        controller.tick(now=now)  # begin: first step
        ticks = 0
        while True:
            ticks += 1
            now += int(interval_s * 1000)
            t0 = time.perf_counter()
            result = next(x for x in controller.tick(now=now) if x.endpoint == endpoint)
            decide_s.append(time.perf_counter() - t0)
            if result.state in ("promoted", "rolled_back", "aborted"):
                outcomes[result.state] = outcomes.get(result.state, 0) + 1
                intervals_to_end.append(ticks)
                break
    return {
        "outcomes": outcomes,
        "intervals": intervals_to_end,
        "tick_ms_median": 1000 * float(np.median(decide_s)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rollouts", type=int, default=100)
    ap.add_argument("--interval", type=float, default=600.0, help="seconds per step")
    ap.add_argument("--rps", type=float, default=200.0)
    args = ap.parse_args(argv)
    backend = _setup()
    t0 = time.perf_counter()
    equal = simulate(backend, Traffic(rps=args.rps), args.rollouts, args.interval, "equal")
    worse = simulate(
        backend,
        Traffic(rps=args.rps, candidate_extra_errors=0.02),
        args.rollouts,
        args.interval,
        "worse",
    )
    wall = time.perf_counter() - t0
    n = args.rollouts
    false_rb = equal["outcomes"].get("rolled_back", 0)
    caught = worse["intervals"]
    rolled = worse["outcomes"].get("rolled_back", 0)
    print(f"rollout simulation: {n} rollouts each, {args.rps:g} req/s, steps 10,25,50,100, "
          f"interval {args.interval:g}s, error rate 1%")  # fmt: skip
    print(f"  equal candidate: promoted {equal['outcomes'].get('promoted', 0)}/{n}, "
          f"false rollbacks {false_rb}/{n} = {false_rb / n:.1%} (target <= 5%)")  # fmt: skip
    print(f"  candidate +2 pt errors: rolled back {rolled}/{n}; step intervals to rollback: "
          f"max {max(caught)}, median {float(np.median(caught)):g} (target <= 2)")  # fmt: skip
    window = args.rps * args.interval
    print(f"  controller tick with analysis: median {equal['tick_ms_median']:.1f} ms "
          f"({window:,.0f} requests per step window); wall {wall:.1f}s")  # fmt: skip
    ok = false_rb / n <= 0.05 and rolled == n and max(caught) <= 2
    print("  targets met" if ok else "  TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
