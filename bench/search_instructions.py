"""search_runs in-process on the embedded store, for instruction counts under callgrind.

CPU time on a shared 2-core machine moves by ±30%; the instructions executed do not.
Seed once per source tree (outside valgrind), then count N and N+10 searches; the
difference / 10 is one search's cost, start-up cancelled out::

    git archive <old> src | tar -x -C /tmp/old
    export CONVEYOR_HOME=/tmp/h-old PYTHONPATH=/tmp/old/src
    .venv/bin/python bench/search_instructions.py seed 10000
    valgrind --tool=callgrind .venv/bin/python bench/search_instructions.py search 2
    valgrind --tool=callgrind .venv/bin/python bench/search_instructions.py search 12
    # the same with CONVEYOR_HOME=/tmp/h-new PYTHONPATH=src; compare "Collected"
"""

import random
import sys
import time

import conveyor
from conveyor.tracking.metric_rows import MetricRows

EXPERIMENT, FILTER = "bench-search", "metrics.auc > 0.8"


def seed(backend, n: int) -> None:
    exp = backend.get_or_create_experiment(EXPERIMENT)
    rng = random.Random(7)
    now = 1_790_000_000_000
    for start in range(0, n, 500):
        with backend.meta.write(backend.actor):  # one commit per 500 runs
            for i in range(start, min(n, start + 500)):
                model, auc, loss = rng.choice(["rf", "gbm", "lr"]), rng.random(), rng.random()
                run = backend.create_run(
                    exp.id, name=f"seed-{i}", params={"model": model, "seed": i},
                    tags={"team": "bench"}, start_time=now - (n - i) * 1000,
                )  # fmt: skip
                rows = MetricRows(["auc", "loss"], [auc, loss], [0, 0], [now, now])
                backend.log_batch(run.id, metrics=rows)
                backend.end_run(run.id, "FINISHED", end_time=now - (n - i) * 1000 + 500)
    print("seeded", n)


def search(backend, n: int) -> None:
    exp = backend.get_or_create_experiment(EXPERIMENT)
    t0 = time.process_time()
    runs = []
    for _ in range(n):
        runs = backend.search_runs([exp.id], filter_string=FILTER, max_results=1000)
    cpu_ms = (time.process_time() - t0) / max(n, 1) * 1000
    print(f"returned {len(runs)}, CPU {cpu_ms:.1f} ms per search")


if __name__ == "__main__":
    mode, count = sys.argv[1], int(sys.argv[2])
    (seed if mode == "seed" else search)(conveyor.connect(), count)
