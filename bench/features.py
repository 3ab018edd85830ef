# ruff: noqa: RUF001, RUF002
"""Feature-store benchmark: Conveyor vs Feast on the same data, in the same run.

Data (generated once into ``bench/.work/features/``): ``--views`` feature views (default 5)
of ``--rows`` rows each over ``--keys`` entities (``driver_id``), each row an event time,
a created time and 10 float features; an entity frame of ``--entities`` rows (keys and
times drawn at random, some keys without rows). Both systems read the same Parquet files.

Measured, each system in its own process (Conveyor in the project venv, Feast in
``bench/.peers/feast``, installed on first use):

1. historical retrieval: ``get_historical_features(entity_df, 3 views × 10 features)``
   to a DataFrame — wall time and peak RSS of the process. Feast: its local ``file``
   offline store (dask).
2. materialization of every view into Redis (``--redis``, DB 7 by default, flushed first).
3. online retrieval on that Redis: 1 entity × 5 views × 10 features, and 100 entities ×
   5 views; p50/p99 over ``--iters`` calls of the SDK function
   (``conveyor.features.get_online_features`` / ``FeatureStore.get_online_features``).
4. (Conveyor only) the latency a feature lookup adds to a serving request, on
   ``/invocations`` and the v2 ``/infer`` route (see ``_SERVING``).

Usage::

    .venv/bin/python bench/features.py                        # the figures in docs/benchmarks.md
    .venv/bin/python bench/features.py --entities 1000000 --rows 10000000   # the issue's sizes
    .venv/bin/python bench/features.py --no-peer --no-doc     # ours only
    .venv/bin/python bench/features.py --phases historical --no-peer   # one phase

Targets (issue 16): historical ≥ 10× faster than Feast's local offline store within 1.5 GB
RSS; online 1 entity × 5 views p99 ≤ 2 ms in the SDK and ≥ 5× Feast's p99.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, ensure_venv, log, machine_info, pkg_version, update_doc_section

WORK = REPO / "bench" / ".work" / "features"
N_FEATURES = 10
HISTORICAL_VIEWS = 3
PHASES = ("historical", "materialize", "online", "serving")
#: ``materialize`` alone (no online reads) is asked for by name: ``online`` materializes too
DEFAULT_PHASES = ("historical", "online", "serving")


def generate(root: Path, views: int, rows: int, keys: int, entities: int, seed: int = 0) -> Path:
    """The Parquet files both systems read (reused when the sizes match)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = root / f"v{views}-r{rows}-k{keys}-e{entities}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2026-01-01T00:00:00", "us")
    span_us = 30 * 86_400 * 1_000_000
    for v in range(views):
        ts = t0 + rng.integers(0, span_us, rows).astype("timedelta64[us]")
        cols: dict[str, Any] = {
            "driver_id": rng.integers(0, keys, rows),
            "event_timestamp": pa.array(ts, pa.timestamp("us", "UTC")),
            "created": pa.array(ts + np.timedelta64(1, "s"), pa.timestamp("us", "UTC")),
        }
        for f in range(N_FEATURES):
            cols[f"f{f}"] = rng.random(rows)
        pq.write_table(pa.table(cols), folder / f"view{v}.parquet", row_group_size=1 << 20)
    ts = t0 + rng.integers(span_us // 10, span_us + 86_400_000_000, entities).astype(
        "timedelta64[us]"
    )
    entity = pa.table(
        {
            "driver_id": rng.integers(0, int(keys * 1.05), entities),
            "event_timestamp": pa.array(ts, pa.timestamp("us", "UTC")),
        }
    )
    pq.write_table(entity, folder / "entities.parquet")
    (folder / "done").write_text("ok")
    return folder


_COMMON = r"""
import json, os, resource, statistics, sys, time
DATA, VIEWS, PHASE, ITERS = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
REDIS = os.environ["BENCH_REDIS_URL"]
FEATS = [f"f{i}" for i in range(10)]
HIST = [f"view{v}:{f}" for v in range(3) for f in FEATS]
ONLINE = [f"view{v}:{f}" for v in range(5) for f in FEATS]

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def pcts(samples):
    samples = sorted(samples)
    return {"p50_ms": samples[len(samples) // 2] * 1000,
            "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000}

def timed(call, iters):
    for _ in range(20):
        call()
    out = []
    for _ in range(iters):
        t = time.perf_counter(); call(); out.append(time.perf_counter() - t)
    return pcts(out)
"""

#: The serving phase (ours only: Feast has no model server to compare): the same model on
#: two endpoints, one sent the full vector, one sent the entity key and bound to a feature
#: service (5 views x 10 features on Redis); each request through the ASGI app in process,
#: the two interleaved so that they share the machine's load.
_SERVING = r"""
import asyncio
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
import orjson
from sklearn.linear_model import LogisticRegression
from conveyor.deployments.runtime import build_route_table
from conveyor.features import FeatureService
from conveyor.serving import InferenceApp, Router

def serving_overhead(iters):
    rng = np.random.default_rng(1)
    names = [f"s{v}_f{i}" for v in range(5) for i in range(10)]
    keys = 1000
    views = []
    for v in range(5):
        cols = {"driver_id": np.arange(keys),
                "event_timestamp": pa.array(np.full(keys, np.datetime64("2026-01-02", "us")),
                                            pa.timestamp("us", "UTC"))}
        for i in range(10):
            cols[f"s{v}_f{i}"] = rng.random(keys)
        pq.write_table(pa.table(cols), f"{os.environ['CONVEYOR_HOME']}/s{v}.parquet")
        views.append(FeatureView(name=f"s{v}", entities=[driver],
                                 schema=[Field(f"s{v}_f{i}", "float64") for i in range(10)],
                                 source=FileSource(f"{os.environ['CONVEYOR_HOME']}/s{v}.parquet")))
    apply([driver, *views, FeatureService("serve", views)])
    materialize(end="2026-03-01T00:00:00+00:00", views=[v.name for v in views])
    X = pd.DataFrame(rng.random((200, 50)), columns=names)
    model = LogisticRegression().fit(X, (X.s0_f0 > 0.5).astype(int))
    client = conveyor.connect()
    with conveyor.start_run():
        conveyor.log_model(model, "model", input_example=X.head(5), registered_model_name="m")
    for endpoint in ("plain", "looked-up"):
        client.deploy(endpoint, model="m/1")
    client.set_endpoint_features("looked-up", "serve")
    stores = client.transport.stores
    tables = [build_route_table(stores, client.get_revision(e)) for e in ("plain", "looked-up")]
    app = InferenceApp(Router(tables))
    row = {n: float(X[n][7]) for n in names}
    bodies = {
        "plain": ("/endpoints/plain/invocations", {"dataframe_records": [row]}),
        "looked-up": ("/endpoints/looked-up/invocations",
                      {"dataframe_records": [{"driver_id": 7}]}),
        "plain v2": ("/v2/models/plain/infer",
                     {"inputs": [{"name": n, "shape": [1], "datatype": "FP64", "data": [v]}
                                 for n, v in row.items()]}),
        "looked-up v2": ("/v2/models/looked-up/infer",
                         {"inputs": [{"name": "driver_id", "shape": [1], "datatype": "INT64",
                                      "data": [7]}]}),
    }

    async def call(path, body):
        done = False
        async def receive():
            nonlocal done
            if done:
                await asyncio.Event().wait()
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        status = []
        async def send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
        scope = {"type": "http", "method": "POST", "path": path, "query_string": b"",
                 "headers": [(b"content-type", b"application/json"),
                             (b"content-length", b"%d" % len(body))]}
        await app(scope, receive, send)
        return status[0]

    async def run():
        samples = {name: [] for name in bodies}
        encoded = {name: (path, orjson.dumps(body)) for name, (path, body) in bodies.items()}
        async with app.running():
            for name, (path, body) in encoded.items():
                assert await call(path, body) == 200, name
            for i in range(iters + 50):
                for name, (path, body) in encoded.items():
                    t = time.perf_counter()
                    await call(path, body)
                    if i >= 50:
                        samples[name].append(time.perf_counter() - t)
        return {name: pcts(s) for name, s in samples.items()}

    return {"serving": asyncio.run(run())}
"""

_OURS = (
    _COMMON
    + _SERVING
    + r"""
import pandas as pd
import conveyor
from conveyor.features import (Entity, FeatureView, Field, FileSource, apply,
                               get_historical_features, get_online_features, materialize)

driver = Entity(name="driver", join_keys=["driver_id"])
views = [FeatureView(name=f"view{v}", entities=[driver],
                     schema=[Field(f, "float64") for f in FEATS],
                     source=FileSource(f"{DATA}/view{v}.parquet",
                                       created_timestamp_column="created"))
         for v in range(VIEWS)]
apply([driver, *views])

# Feast's rows and non-null view0__f0, predicted from ours: its file store drops an entity
# row whose key has rows in a view but none at or before the row's time (no TTL here),
# keeps a key without rows, and keeps one row per (key, time). A feature is null in ours
# exactly when no row matched (the data has no null values).
def agreement(frame):
    import duckdb
    con = duckdb.connect()
    con.register("frame", frame)
    keep = " AND ".join(
        f"(view{v}__f0 IS NOT NULL OR driver_id NOT IN "
        f"(SELECT driver_id FROM read_parquet('{DATA}/view{v}.parquet')))" for v in range(3))
    rows, non_null = con.sql(
        "SELECT count(*), count(*) FILTER (WHERE matched) FROM (SELECT DISTINCT driver_id, "
        f"event_timestamp, view0__f0 IS NOT NULL AS matched FROM frame WHERE {keep})"
    ).fetchall()[0]
    return {"feast_rows_predicted": rows, "feast_non_null_predicted": non_null}

out = {}
if PHASE == "historical":
    entity = pd.read_parquet(f"{DATA}/entities.parquet")
    t = time.perf_counter()
    with get_historical_features(entity, HIST, full_feature_names=True) as job:
        frame = job.to_df()
    out = {"historical_s": time.perf_counter() - t, "rows": len(frame),
           "non_null": int(frame["view0__f0"].notna().sum()), "peak_rss_mb": peak_mb()}
    out.update(agreement(frame))  # after the peak is read: not part of the figure
elif PHASE == "materialize":
    t = time.perf_counter()
    done = materialize(end="2026-03-01T00:00:00+00:00")
    out = {"materialize_s": time.perf_counter() - t, "materialized_rows": sum(m.rows for m in done),
           "materialize_peak_rss_mb": peak_mb()}
elif PHASE == "online":
    t = time.perf_counter()
    done = materialize(end="2026-03-01T00:00:00+00:00")
    out["materialize_s"] = time.perf_counter() - t
    out["materialized_rows"] = sum(m.rows for m in done)
    one = [{"driver_id": 7}]
    hundred = [{"driver_id": k} for k in range(100)]
    answer = get_online_features(ONLINE, one, full_feature_names=True)
    present = [answer.statuses[f"view{v}__f0"][0] == "PRESENT" for v in range(VIEWS)]
    out["views_present"] = sum(present)
    def read(rows):
        return get_online_features(ONLINE, rows, full_feature_names=True)
    out["online_1"] = timed(lambda: read(one), ITERS)
    out["online_100"] = timed(lambda: read(hundred), max(ITERS // 10, 50))
    # the floor under this load: redis-py's own MGET of the same 5 keys, no decoding
    import redis
    raw = redis.Redis.from_url(REDIS)
    keys5 = [f"cvf:default:view{v}\x1f[7]".encode() for v in range(VIEWS)]
    assert all(raw.mget(keys5))
    out["raw_mget"] = timed(lambda: raw.mget(keys5), ITERS)
elif PHASE == "serving":
    out.update(serving_overhead(ITERS))
print(json.dumps(out))
"""
)

_FEAST = (
    _COMMON
    + r"""
import logging, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
from datetime import datetime, timezone
import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource
from feast.repo_config import RepoConfig
from feast.types import Float64

host, _, db = REDIS.removeprefix("redis://").partition("/")
repo = os.environ["BENCH_FEAST_REPO"]
config = RepoConfig(
    project="bench", provider="local", registry=f"{repo}/registry.db",
    offline_store={"type": "file"},
    online_store={"type": "redis", "connection_string": f"{host},db={db or 0}"},
    entity_key_serialization_version=3, repo_path=repo,
)
store = FeatureStore(config=config)
driver = Entity(name="driver", join_keys=["driver_id"])
views = [FeatureView(name=f"view{v}", entities=[driver],
                     schema=[Field(name=f, dtype=Float64) for f in FEATS],
                     source=FileSource(path=f"{DATA}/view{v}.parquet",
                                       timestamp_field="event_timestamp",
                                       created_timestamp_column="created"),
                     ttl=None, online=True)
         for v in range(VIEWS)]
store.apply([driver, *views])
out = {}
if PHASE == "historical":
    entity = pd.read_parquet(f"{DATA}/entities.parquet")
    t = time.perf_counter()
    frame = store.get_historical_features(entity_df=entity, features=HIST,
                                          full_feature_names=True).to_df()
    out = {"historical_s": time.perf_counter() - t, "rows": len(frame),
           "non_null": int(frame["view0__f0"].notna().sum()), "peak_rss_mb": peak_mb()}
elif PHASE == "materialize":
    t = time.perf_counter()
    store.materialize(start_date=datetime(2025, 12, 1, tzinfo=timezone.utc),
                      end_date=datetime(2026, 3, 1, tzinfo=timezone.utc))
    out = {"materialize_s": time.perf_counter() - t, "materialize_peak_rss_mb": peak_mb()}
else:
    t = time.perf_counter()
    store.materialize(start_date=datetime(2025, 12, 1, tzinfo=timezone.utc),
                      end_date=datetime(2026, 3, 1, tzinfo=timezone.utc))
    out["materialize_s"] = time.perf_counter() - t
    one = [{"driver_id": 7}]
    hundred = [{"driver_id": k} for k in range(100)]
    def read(rows):
        return store.get_online_features(features=ONLINE, entity_rows=rows,
                                         full_feature_names=True).to_dict()
    got = read(one)
    # Feast 0.67 answered values of only some views in our runs: say how many, time anyway
    out["views_present"] = sum(got[f"view{v}__f0"][0] is not None for v in range(VIEWS))
    out["online_1"] = timed(lambda: read(one), ITERS)
    out["online_100"] = timed(lambda: read(hundred), max(ITERS // 10, 50))
print(json.dumps(out))
"""
)


def _flush(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def _run(python: str | Path, code: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(code)
    try:
        done = subprocess.run(
            [str(python), fh.name, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
    finally:
        os.unlink(fh.name)
    if done.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    name: str,
    python: str | Path,
    code: str,
    data: Path,
    a: argparse.Namespace,
    phases: tuple[str, ...] = ("historical", "online"),
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for phase in (p for p in phases if p in a.phases):
        home = tempfile.mkdtemp(prefix=f"bench-features-{name}-")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")},
            "CONVEYOR_HOME": home,
            "CONVEYOR_FEATURES_ONLINE_URL": a.redis,
            "CONVEYOR_FEATURES_MEMORY_LIMIT": a.memory_limit,
            "BENCH_REDIS_URL": a.redis,
            "BENCH_FEAST_REPO": home,
            "PYTHONPATH": str(REPO / "src"),
        }
        if phase != "historical":
            _flush(a.redis)
        log(f"{name}: {phase}")
        before = os.getloadavg()[0]
        out.update(_run(python, code, [str(data), str(a.views), phase, str(a.iters)], env))
        out[f"load_{phase}"] = [round(before, 1), round(os.getloadavg()[0], 1)]
    return out


def _round(into: dict[str, Any], got: dict[str, Any]) -> None:
    """Add one historical round to ``into``: every round kept, the median as the figure."""
    import statistics

    for key in ("historical_s", "peak_rss_mb", "load_historical"):
        into.setdefault(f"{key}_rounds", []).append(got.pop(key))
    into.update(got)
    into["historical_s"] = statistics.median(into["historical_s_rounds"])
    into["peak_rss_mb"] = max(into["peak_rss_mb_rounds"])


def agreement_lines(ours: dict[str, Any], feast: dict[str, Any] | None) -> list[str]:
    """Feast's historical row counts as predicted from ours (``agreement`` in ``_OURS``)
    beside the ones Feast returned: the systems differ only where docs/features.md says."""
    predicted = ours.get("feast_rows_predicted")
    if predicted is None:
        return []
    text = (
        f"Feast's rows predicted from Conveyor's result (entity rows whose key has rows in a "
        f"view but none at or before the row's time dropped, repeated (key, time) rows kept "
        f'once; docs/features.md, "Differences from Feast"): {predicted:,}, non-null '
        f"`view0__f0` {ours['feast_non_null_predicted']:,}"
    )
    got = (feast or {}).get("rows")
    if got is not None:
        exact = predicted == got and ours["feast_non_null_predicted"] == feast.get("non_null")
        text += f"; Feast returned {got:,} and {feast.get('non_null'):,}" + (
            ": exact." if exact else ": they differ."
        )
    return ["", text + ("" if got is not None else " (Feast not run).")]


def render(a: argparse.Namespace, ours: dict[str, Any], feast: dict[str, Any] | None) -> str:
    info = machine_info()
    cmd = (
        f"`.venv/bin/python bench/features.py --entities {a.entities} --rows {a.rows} "
        f"--keys {a.keys} --iters {a.iters}`"
    )
    lines = [
        f"Helper `features`' benchmark (issue 16). Command: {cmd}. {a.views} views × "
        f"{a.rows:,} rows × 10 float features over {a.keys:,} entities; historical retrieval "
        f"of {a.entities:,} entity rows × 3 views × 10 features; online reads from Redis on "
        f"loopback ({a.redis}); {info.get('nproc')} CPUs ({info.get('cpu', '?')}), shared "
        "with other jobs. Scaled down from the issue's 1M × 3 × 10M so that Feast finishes "
        "in minutes here.",
        "",
        "| | Conveyor | Feast "
        + (feast.get("version", "") if feast else "(not run)")
        + " | Feast / Conveyor |",
        "|---|---|---|---|",
    ]

    def row(label: str, key: str, sub: str | None = None, unit: str = "s") -> None:
        def get(d: dict[str, Any] | None) -> float | None:
            if d is None:
                return None
            v = d.get(key)
            return v.get(sub) if isinstance(v, dict) and sub else v

        mine, theirs = get(ours), get(feast)
        if mine is None and theirs is None:
            return  # a phase not run
        fmt = (lambda v: f"{v:.2f} s") if unit == "s" else (lambda v: f"{v:.3f} ms")
        if unit == "mb":
            fmt = lambda v: f"{v:.0f} MiB"  # noqa: E731
        ratio = f"{theirs / mine:.1f}×" if mine and theirs else ""
        lines.append(
            f"| {label} | {fmt(mine) if mine is not None else ''} | "
            f"{fmt(theirs) if theirs is not None else ''} | {ratio} |"
        )

    row("historical retrieval (wall)", "historical_s")
    row("historical retrieval peak RSS", "peak_rss_mb", unit="mb")
    row(f"materialize {a.views} views to Redis", "materialize_s")
    row("materialize peak RSS", "materialize_peak_rss_mb", unit="mb")
    row("online 1 entity × 5 views × 10 features, p50", "online_1", "p50_ms", "ms")
    row("online 1 entity × 5 views × 10 features, p99", "online_1", "p99_ms", "ms")
    row("online 100 entities × 5 views, p50", "online_100", "p50_ms", "ms")
    row("online 100 entities × 5 views, p99", "online_100", "p99_ms", "ms")
    row("floor: redis-py MGET of the same 5 keys, p50", "raw_mget", "p50_ms", "ms")
    row("floor: redis-py MGET of the same 5 keys, p99", "raw_mget", "p99_ms", "ms")
    lines += [
        "",
        f"Rows written by Conveyor's materialization: {ours.get('materialized_rows', 0):,} "
        "(the newest row per entity per view). Historical rows returned: Conveyor "
        f"{ours.get('rows')}, Feast {(feast or {}).get('rows')} (non-null `view0__f0`: "
        f"Conveyor {ours.get('non_null')}, Feast {(feast or {}).get('non_null')}). "
        "Views with a value for the timed entity after materialization: Conveyor "
        f"{ours.get('views_present')}/{a.views}, "
        f"Feast {(feast or {}).get('views_present')}/{a.views}.",
    ]
    lines += agreement_lines(ours, feast)
    if ours.get("historical_s_rounds"):
        rounds = [
            f"{who} {', '.join(f'{t:.2f}' for t in d['historical_s_rounds'])} s (load "
            f"{', '.join(f'{x[0]}→{x[1]}' for x in d['load_historical_rounds'])})"
            for who, d in (("Conveyor", ours), ("Feast", feast or {}))
            if d.get("historical_s_rounds")
        ]
        lines += [
            "",
            f"Historical retrieval, {a.rounds} alternating round(s) per system (median in the "
            "table, peak RSS the largest): " + "; ".join(rounds) + ".",
        ]
    loads = [
        f"{who} {phase} {d[f'load_{phase}'][0]}→{d[f'load_{phase}'][1]}"
        for who, d in (("Conveyor", ours), ("Feast", feast or {}))
        for phase in PHASES
        if f"load_{phase}" in d
    ]
    if loads:
        lines += ["", "1-minute load average at each phase's start→end: " + ", ".join(loads) + "."]
    serving = ours.get("serving")
    if serving:
        lines += [
            "",
            "Feature lookup in a serving request (Conveyor only; one row, the same model on two "
            "endpoints: the full 50-feature vector sent, or only `driver_id` with the endpoint "
            "bound to a feature service of 5 views × 10 features on Redis; requests through "
            "the ASGI app in process, interleaved):",
            "",
            "| route | full vector sent p50 / p99 | key sent, features looked up p50 / p99 "
            "| added p50 / p99 |",
            "|---|---|---|---|",
        ]
        for label, plain, looked in (
            ("`/invocations`", "plain", "looked-up"),
            ("v2 `/infer`", "plain v2", "looked-up v2"),
        ):
            a0, b0 = serving[plain], serving[looked]
            lines.append(
                f"| {label} | {a0['p50_ms']:.3f} / {a0['p99_ms']:.3f} ms | "
                f"{b0['p50_ms']:.3f} / {b0['p99_ms']:.3f} ms | "
                f"{b0['p50_ms'] - a0['p50_ms']:+.3f} / {b0['p99_ms'] - a0['p99_ms']:+.3f} ms |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--views", type=int, default=5)
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument(
        "--phases",
        default=",".join(DEFAULT_PHASES),
        help=f"comma-separated, of {', '.join(PHASES)}",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="historical retrieval runs per system, alternating (the median is shown)",
    )
    a = parser.parse_args()
    a.phases = tuple(a.phases.split(","))
    data = generate(WORK, a.views, a.rows, a.keys, a.entities)
    py = None if a.no_peer else ensure_venv("feast", ["feast[redis]==0.67.0"], check_import="feast")
    ours: dict[str, Any] = {}
    feast: dict[str, Any] | None = None if py is None else {}
    if "historical" in a.phases:  # rounds alternate so that both see the same load
        for _ in range(a.rounds):
            _round(ours, measure("conveyor", sys.executable, _OURS, data, a, ("historical",)))
            if py is not None and feast is not None:
                _round(feast, measure("feast", py, _FEAST, data, a, ("historical",)))
    rest = tuple(p for p in PHASES if p != "historical")
    ours.update(measure("conveyor", sys.executable, _OURS, data, a, rest))
    log(f"conveyor: {json.dumps(ours)}")
    if py is not None and feast is not None:
        feast.update(measure("feast", py, _FEAST, data, a, ("materialize", "online")))
        feast["version"] = pkg_version(py, "feast")
        log(f"feast: {json.dumps(feast)}")
    body = render(a, ours, feast)
    print(body)
    if not a.no_doc:
        update_doc_section(REPO / "docs" / "benchmarks.md", "Feature store", body)


if __name__ == "__main__":
    main()
