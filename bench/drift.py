# ruff: noqa: RUF001
"""Drift benchmark: Conveyor's drift_report vs Evidently's DataDriftPreset, same run, same data.

    .venv/bin/python bench/drift.py                       # 10k, 100k, 1M rows
    .venv/bin/python bench/drift.py --sizes 10000,100000 --peer-timeout 120
    .venv/bin/python bench/drift.py --stream-10m          # also: 10M rows streamed from Parquet

Data: 20 numeric (standard normal) + 5 categorical (5 levels, p = .4 .2 .2 .1 .1) columns,
reference and current drawn independently, with known shifts in the current window:
x0 and x1 +0.1 std, x2 +0.5 std, c0 frequencies .4/.2 -> .35/.25. Everything else is
identically distributed, so any other flagged column is a false positive.

Each tool runs in its own subprocess (Evidently in its own venv, bench/.peers/evidently,
created on first use with ``python3 -m venv`` + ``pip install evidently 'pandas<3'``) that loads the
same Parquet files, times the drift computation only (wall clock), and reports its own
peak RSS (``ru_maxrss``, which includes the loaded data and imports).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "drift"
PEER_PACKAGES = ["evidently", "pandas<3"]  # 0.7.x does not import under pandas 3
NUMERIC = [f"x{i}" for i in range(20)]
CATEGORICAL = [f"c{j}" for j in range(5)]
SHIFTED = {"x0": "+0.1 std", "x1": "+0.1 std", "x2": "+0.5 std", "c0": "freq .4/.2->.35/.25"}
LEVELS = ["a", "b", "c", "d", "e"]


# --------------------------------------------------------------------------- data


def write_pair(rows: int, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Reference and current Parquet files (written in 1M-row row groups, bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / f"ref_{rows}.parquet", folder / f"cur_{rows}.parquet"
    if all(p.exists() for p in paths):
        return paths
    rng = np.random.default_rng(seed)
    for path, shifted in zip(paths, (False, True), strict=True):
        tmp = path.with_suffix(".tmp")
        writer = None
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            cols: dict[str, object] = {}
            for name in NUMERIC:
                shift = {"x0": 0.1, "x1": 0.1, "x2": 0.5}.get(name, 0.0) if shifted else 0.0
                cols[name] = rng.standard_normal(n) + shift
            for name in CATEGORICAL:
                p = (
                    [0.35, 0.25, 0.2, 0.1, 0.1]
                    if shifted and name == "c0"
                    else [0.4, 0.2, 0.2, 0.1, 0.1]
                )
                codes = rng.choice(5, size=n, p=p).astype(np.int32)
                cols[name] = pa.DictionaryArray.from_arrays(codes, pa.array(LEVELS)).cast(
                    pa.string()
                )
            table = pa.table(cols)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=1_000_000)
        assert writer is not None
        writer.close()
        tmp.rename(path)
    return paths


# --------------------------------------------------------------------------- workers


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _read_arrow(path: str):
    """Row group by row group: peak memory ~ the table plus one decoded batch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa.Table.from_batches(list(pq.ParquetFile(path).iter_batches(batch_size=131_072)))


def worker_ours(ref: str, cur: str, mode: str) -> dict[str, object]:
    sys.path.insert(0, str(ROOT / "src"))
    from conveyor.monitoring import drift_report

    if mode == "stream":
        loaded = _rss_mb()
        t0 = time.perf_counter()
        report = drift_report(ref, cur)  # Parquet paths: one column, one batch at a time
    else:
        a, b = _read_arrow(ref), _read_arrow(cur)
        loaded = _rss_mb()
        t0 = time.perf_counter()
        report = drift_report(a, b)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "loaded_mb": loaded,
        "peak_mb": _peak_mb(),
        "flagged": report.drifted_columns,
        "dataset_drift": report.drifted,
        "share": report.share_drifted,
    }


def worker_evidently(ref: str, cur: str) -> dict[str, object]:
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    a, b = _read_arrow(ref).to_pandas(), _read_arrow(cur).to_pandas()
    loaded = _rss_mb()
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    t0 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(b, data_definition=definition),
        Dataset.from_pandas(a, data_definition=definition),
    )
    result = snapshot.dict()
    seconds = time.perf_counter() - t0
    flagged, methods, dataset = [], set(), None
    for metric in result["metrics"]:
        cfg = metric["config"]
        if cfg["type"].endswith("ValueDrift"):
            method, value, threshold = cfg["method"], metric["value"], cfg["threshold"]
            methods.add(method)
            is_p = "p_value" in method or "test" in method.lower()
            if (value < threshold) if is_p else (value >= threshold):
                flagged.append(cfg["column"])
        elif cfg["type"].endswith("DriftedColumnsCount"):
            dataset = metric["value"]["share"] >= cfg["drift_share"]
    return {
        "seconds": seconds,
        "loaded_mb": loaded,
        "peak_mb": _peak_mb(),
        "flagged": sorted(flagged, key=(NUMERIC + CATEGORICAL).index),
        "dataset_drift": dataset,
        "methods": sorted(methods),
        "version": evidently.__version__,
    }


def run_worker(python: Path, tool: str, ref: Path, cur: Path, mode: str, timeout: float):
    cmd = [str(python), str(Path(__file__).resolve()), "--_worker", tool, "--_ref", str(ref)]
    cmd += ["--_cur", str(cur), "--_mode", mode]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"skipped": f"killed after the {timeout:.0f} s budget (--peer-timeout)"}
    if proc.returncode != 0:
        return {"skipped": f"failed: {proc.stderr.strip().splitlines()[-1:]}"}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = time.perf_counter() - started
    return out


# --------------------------------------------------------------------------- report


def _fmt_flags(result: dict) -> str:
    if "skipped" in result:
        return "skipped"
    flagged = set(result["flagged"])
    hits = " ".join(("✔" if c in flagged else "✘") for c in SHIFTED)
    fp = sorted(flagged - set(SHIFTED))
    return f"{hits} | {len(fp)}{' (' + ', '.join(fp) + ')' if fp else ''}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--peer-timeout", type=float, default=300.0)
    ap.add_argument("--no-peer", action="store_true", help="skip Evidently")
    ap.add_argument("--stream-10m", action="store_true", help="also stream 10M rows from Parquet")
    ap.add_argument("--_worker"), ap.add_argument("--_ref"), ap.add_argument("--_cur")
    ap.add_argument("--_mode", default="memory")
    args = ap.parse_args()
    if args._worker:
        fn = worker_ours if args._worker == "ours" else worker_evidently
        res = (
            fn(args._ref, args._cur, args._mode) if fn is worker_ours else fn(args._ref, args._cur)
        )
        print(json.dumps(res))
        return

    sizes = [int(s) for s in args.sizes.split(",") if s]
    peer_python: Path | None = None
    if not args.no_peer:
        sys.path.insert(0, str(HERE))
        from _common import ensure_venv

        peer_python = ensure_venv("evidently", PEER_PACKAGES, check_import="evidently")
    print(
        f"# drift benchmark — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}"
    )
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    rows_speed, rows_detect = [], []
    last_peer: tuple[int, float] | None = None
    for n in sizes:
        ref, cur = write_pair(n, WORK)
        ours = run_worker(Path(sys.executable), "ours", ref, cur, "memory", 3600)
        streamed = run_worker(Path(sys.executable), "ours", ref, cur, "stream", 3600)
        if peer_python is None:
            peer = {"skipped": "Evidently not run (--no-peer)"}
        elif last_peer and last_peer[1] * n / last_peer[0] > args.peer_timeout:
            guess = last_peer[1] * n / last_peer[0]
            peer = {
                "skipped": f"predicted {guess:.0f} s > --peer-timeout {args.peer_timeout:.0f} s"
            }
        else:
            peer = run_worker(peer_python, "evidently", ref, cur, "memory", args.peer_timeout)
            if "seconds" in peer:
                last_peer = (n, float(peer["seconds"]))
        if "seconds" in peer:
            ratio = f"{peer['seconds'] / ours['seconds']:.0f}×"
            peer_cells = (
                f"{peer['seconds']:.2f} s | {peer['loaded_mb']:.0f} / {peer['peak_mb']:.0f} MB"
            )
        else:
            ratio, peer_cells = "–", f"{peer['skipped']} | –"
        ours_cells = f"{ours['seconds']:.2f} s | {ours['loaded_mb']:.0f} / {ours['peak_mb']:.0f} MB"
        stream_cells = f"{streamed['seconds']:.2f} s | {streamed['peak_mb']:.0f} MB"
        rows_speed.append(f"| {n:,} | {ours_cells} | {stream_cells} | {peer_cells} | {ratio} |")
        rows_detect.append(
            f"| {n:,} | Conveyor (defaults) | {_fmt_flags(ours)} | {ours['dataset_drift']} |"
        )
        pdrift = peer.get("dataset_drift", "–")
        rows_detect.append(f"| {n:,} | Evidently DataDriftPreset | {_fmt_flags(peer)} | {pdrift} |")
        if "version" in peer:
            methods = ", ".join(peer["methods"])
            print(f"(evidently {peer['version']} at {n:,} rows used: {methods})")
        print(f"done {n:,} rows", file=sys.stderr)

    print(
        "\n| rows × 25 cols | Conveyor time | Conveyor RSS loaded / peak | "
        "Conveyor from Parquet time | its peak RSS | Evidently time | "
        "Evidently RSS loaded / peak | speed-up (in memory) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows_speed))
    print(
        "\nDetection (✔ flagged / ✘ missed): x0 +0.1σ, x1 +0.1σ, x2 +0.5σ, c0 frequency shift; "
        "false positives among the 21 unshifted columns"
    )
    print("\n| rows | tool | x0 | x1 | x2 | c0 | false positives | dataset drift |")
    print("|---:|---|:-:|:-:|:-:|:-:|---|---|")
    for row in rows_detect:
        print(_table_row(row))

    if args.stream_10m:
        n = 10_000_000
        ref, cur = write_pair(n, WORK)
        res = run_worker(Path(sys.executable), "ours", ref, cur, "stream", 3600)
        size_mb = (ref.stat().st_size + cur.stat().st_size) / 2**20
        print(
            f"\nStreaming {n:,} rows × 25 cols from Parquet ({size_mb:,.0f} MB on disk, "
            f"two files): {res['seconds']:.1f} s, peak RSS {res['peak_mb']:.0f} MB; "
            f"flagged {res['flagged']}"
        )


def _table_row(row: str) -> str:
    """Spread the ✔/✘ marks of the four shifted columns over their own cells."""
    head, _, rest = row.partition(" | ")  # rows
    tool, _, rest = rest.partition(" | ")
    if rest.startswith("skipped"):
        return f"{head} | {tool} | – | – | – | – | skipped | – |"
    marks, _, tail = rest.partition(" | ")
    return f"{head} | {tool} | " + " | ".join(marks.split()) + f" | {tail}"


if __name__ == "__main__":
    main()
