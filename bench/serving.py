"""Serving benchmark: Conveyor vs ``mlflow models serve`` vs hand-written FastAPI vs bare ASGI.

One run, one machine, loopback only. The model is a RandomForestClassifier
(n_estimators=50, max_depth=8) on 20 numeric features, trained once from the same seeded
data in each environment (random_state=0, so every server holds the same forest):

  a. Conveyor: ``python -m conveyor.serving`` (raw ASGI, orjson, onnxruntime, uvicorn with
     uvloop + httptools), prediction log off and on, micro-batching off (default) and on
  b. ``mlflow models serve --env-manager local`` with the model saved by MLflow's own
     ``mlflow.sklearn`` in its venv ``bench/.peers/mlflow``
  c. a minimal hand-written FastAPI endpoint: ``model.predict(pd.DataFrame(records))``
  d. a bare ASGI app answering a constant: the HTTP ceiling of this machine

Every server runs under uvicorn with the same number of worker processes (``--workers``).
Load: ``wrk`` (one thread, keep-alive, POST of a single-row body) at 8 and 32 connections,
``--duration`` seconds each after a short warm-up. Reported: req/s, p50, p99, errors
(socket errors + non-2xx) and ratios. Each server's answer to the same row is checked
before it is measured.

Usage::

    .venv/bin/python bench/serving.py              # full run (~4 minutes)
    .venv/bin/python bench/serving.py --quick      # 3 s per measurement
    .venv/bin/python bench/serving.py --no-doc     # do not rewrite docs/benchmarks.md
    .venv/bin/python bench/serving.py --focus --baseline main   # this tree vs main only

``--baseline REF`` adds Conveyor servers running the ``src/`` of git revision REF
(extracted with ``git archive``) beside this tree's, in the same interleaved rounds.
``--focus`` measures Conveyor alone (no peers, no log/batching variants): ``/invocations``
JSON, v2 JSON (one FP32 ``[1, 20]`` tensor) and v2 binary (the same tensor as raw bytes,
the answer as raw bytes too, as tritonclient sends by default).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_DIR,
    REPO,
    ensure_venv,
    free_port,
    log,
    machine_info,
    pkg_version,
    run_client,
    server_process,
    update_doc_section,
)

WORK = BENCH_DIR / ".work" / "serving"
N_FEATURES = 20
COLUMNS = [f"f{i}" for i in range(N_FEATURES)]
CONNECTIONS = (8, 32)

DATA_SCRIPT = """
import json, sys
import numpy as np
args = json.loads(sys.argv[1])
rng = np.random.default_rng(42)
x = rng.normal(size=(5000, 20)).astype(np.float32)
w = rng.normal(size=20)
y = (x @ w + rng.normal(scale=0.5, size=5000) > 0).astype(np.int64)
np.savez(args["path"], x=x, y=y)
print(json.dumps({"rows": len(x)}))
"""

TRAIN = """
import numpy as np
from sklearn.ensemble import RandomForestClassifier
def train(path, frame=False):
    data = np.load(path)
    x, y = data["x"], data["y"]
    if frame:  # the same values with column names, as a DataFrame user trains
        import pandas as pd
        x = pd.DataFrame(x.astype("float64"), columns=[f"f{i}" for i in range(20)])
    return x, RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0,
                                     n_jobs=1).fit(x, y)
"""

ONNX_SCRIPT = (
    TRAIN
    + """
import json, sys
from skl2onnx import to_onnx
args = json.loads(sys.argv[1])
x, clf = train(args["data"])
onx = to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}})
open(args["out"], "wb").write(onx.SerializeToString())
print(json.dumps({"expected": int(clf.predict(x[:1])[0])}))
"""
)

MLFLOW_SCRIPT = (
    TRAIN
    + """
import json, shutil, sys
import pandas as pd
import mlflow.sklearn
from mlflow.models import infer_signature
args = json.loads(sys.argv[1])
frame, clf = train(args["data"], frame=True)
shutil.rmtree(args["out"], ignore_errors=True)
mlflow.sklearn.save_model(clf, args["out"], signature=infer_signature(frame, clf.predict(frame)),
                          skops_trusted_types=["sklearn.tree._tree.Tree"])
print(json.dumps({"expected": int(clf.predict(frame.iloc[:1])[0])}))
"""
)

FASTAPI_APP = (
    TRAIN
    + """
import os
import pandas as pd
from fastapi import FastAPI

x, model = train(os.environ["BENCH_DATA"], frame=True)
app = FastAPI()


@app.get("/health")
def health():
    return {"ok": True}


@app.post("/predict")
def predict(body: dict):
    frame = pd.DataFrame(body["records"])
    return {"predictions": model.predict(frame).tolist()}
"""
)

BARE_APP = """
BODY = b'{"predictions":[0]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    message = await receive()
    while message.get("more_body"):
        message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
"""

WRK_LUA = """
wrk.method = "POST"
%s
local f = assert(io.open("%s", "rb"))
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


JSON_HEADERS = {"Content-Type": "application/json"}


def wrk(
    url: str,
    body_file: Path,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or JSON_HEADERS).items())
    script = _write(WORK / f"post-{body_file.stem}.lua", WRK_LUA % (lines, body_file))
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s",
           "-s", str(script), url]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    raw = json.loads(line[8:])
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "requests": raw["requests"],
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "non_2xx": raw["status"],
    }


def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        p = stack.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(x) for x in fh.read().split())
        except OSError:
            continue
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants (Linux /proc)."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def post_json(url: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
    """The JSON answer; of a v2 binary answer, its JSON header with the bytes as ``_tail``."""
    req = urllib.request.Request(url, body, headers or JSON_HEADERS)
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
        n = resp.headers.get("Inference-Header-Content-Length")
    if n is None:
        return json.loads(raw)
    return {**json.loads(raw[: int(n)]), "_tail": raw[int(n) :]}


class Target:
    """A started server and how to drive it."""

    def __init__(
        self,
        name: str,
        server: Any,
        url: str,
        body: Path,
        conns: tuple[int, ...],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name, self.server, self.url, self.body, self.conns = name, server, url, body, conns
        self.headers = headers
        self.samples: dict[int, list[dict[str, Any]]] = {c: [] for c in conns}


def start(
    stack: contextlib.ExitStack,
    name: str,
    cmd: list[str],
    *,
    health: str,
    url: str,
    body: Path,
    check: Any,
    env: dict[str, str] | None = None,
    connections: tuple[int, ...] = CONNECTIONS,
    headers: dict[str, str] | None = None,
) -> Target:
    srv = stack.enter_context(
        server_process(
            name,
            cmd,
            health_url=health,
            base_url=url,
            env=env,
            log_dir=WORK / "logs",
            deadline_s=300,
        )
    )
    answer = post_json(url, body.read_bytes(), headers)
    if not check(answer):
        raise RuntimeError(f"{name}: unexpected answer {answer!r}")
    log(f"{name}: ready in {srv.startup_s:.1f}s, answer checked")
    return Target(name, srv, url, body, connections, headers)


def summarize(target: Target, conns: int) -> dict[str, Any]:
    """The median round (by req/s) of one target at one connection count."""
    runs = sorted(target.samples[conns], key=lambda r: r["rps"])
    mid = dict(runs[len(runs) // 2])
    mid.update(
        cpu_us_per_req=sorted(r["cpu_us_per_req"] for r in runs)[len(runs) // 2],
        server=target.name,
        connections=conns,
        rounds=[round(r["rps"]) for r in target.samples[conns]],
        errors=sum(r["errors"] for r in runs),
        rss_mb=round(target.server.rss_mb(), 1),
    )
    return mid


def _baseline_src(ref: str) -> Path:
    """``src/`` of git revision ``ref``, extracted under the work folder."""
    out = WORK / "baseline"
    out.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"],
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def _install_wrk() -> bool:
    """Install the wrk load generator from the OS packages when we are allowed to."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return False
    print("installing wrk (apt-get) ...", flush=True)
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        if subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False).returncode != 0:
            return False
    return shutil.which("wrk") is not None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; median kept")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers, every server")
    parser.add_argument("--quick", action="store_true", help="2 s per measurement, 1 round")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite the docs")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--skip-fastapi", action="store_true")
    parser.add_argument("--baseline", metavar="REF", help="also serve git revision REF's src/")
    parser.add_argument("--focus", action="store_true", help="Conveyor only: JSON, v2, binary")
    args = parser.parse_args()
    if args.focus:
        args.skip_mlflow = args.skip_fastapi = True
    if args.quick:
        args.duration, args.warmup, args.rounds = 2.0, 1.0, 1
    if shutil.which("wrk") is None and not _install_wrk():
        print(
            "wrk is not installed and could not be installed: apt-get install -y wrk",
            file=sys.stderr,
        )
        return 2
    py = sys.executable
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    started = time.time()

    data = WORK / "data.npz"
    run_client(py, DATA_SCRIPT, {"path": str(data)})
    onnx_path = WORK / "model.onnx"
    expected = run_client(py, ONNX_SCRIPT, {"data": str(data), "out": str(onnx_path)})["expected"]
    import numpy as np

    row = np.load(data)["x"][0].astype(float).tolist()
    record = dict(zip(COLUMNS, row, strict=True))
    tensor = {"name": "input", "shape": [1, N_FEATURES], "datatype": "FP32"}
    raw = np.asarray(row, dtype="<f4").tobytes()
    binary_json = json.dumps({
        "inputs": [{**tensor, "parameters": {"binary_data_size": len(raw)}}],
        "parameters": {"binary_data_output": True},
    }).encode()  # fmt: skip
    binary_header = len(binary_json)
    bodies = {
        "records": _write(WORK / "records.json", json.dumps({"records": [record]})),
        "mlflow": _write(WORK / "mlflow.json", json.dumps({"dataframe_records": [record]})),
        "v2": _write(WORK / "v2.json", json.dumps({"inputs": [{**tensor, "data": row}]})),
        "binary": _write(WORK / "v2-binary.bin", binary_json + raw),
    }
    workers = str(args.workers)
    uv = [py, "-m", "uvicorn", "--host", "127.0.0.1", "--workers", workers, "--loop", "uvloop",
          "--http", "httptools", "--no-access-log", "--no-proxy-headers", "--no-server-header",
          "--log-level", "warning"]  # fmt: skip
    mlflow_version = "skipped"
    mpy = None
    if not args.skip_mlflow:
        mpy = ensure_venv("mlflow", ["mlflow==3.*", "scikit-learn", "pandas"],
                          check_import="mlflow.sklearn")  # fmt: skip
        mlflow_version = pkg_version(mpy, "mlflow")
        run_client(mpy, MLFLOW_SCRIPT, {"data": str(data), "out": str(WORK / "mlflow-model")})

    def spec(name: str, **extra: Any) -> Path:
        content = {
            "endpoints": [{
                "name": "rf",
                "columns": [[c, "double"] for c in COLUMNS],
                "routes": [{"name": "primary", "onnx": str(onnx_path), "version": "1"}],
            }],
            **extra,
        }  # fmt: skip
        return _write(WORK / f"spec-{name}.json", json.dumps(content))

    log_dir = WORK / "prediction-log"
    ok = lambda a: a.get("predictions") == [expected] and len(a["prediction_ids"]) == 1  # noqa: E731
    _write(WORK / "bare_app.py", BARE_APP)
    _write(WORK / "fastapi_app.py", FASTAPI_APP)
    targets: list[Target] = []
    with contextlib.ExitStack() as stack:
        # every server is up at once; the rounds below interleave them so that other load
        # on the machine hits all of them alike
        if not args.focus:
            port = free_port()
            targets.append(start(
                stack, "bare ASGI",
                [*uv, "--port", str(port), "--app-dir", str(WORK), "bare_app:app"],
                health=f"http://127.0.0.1:{port}/", url=f"http://127.0.0.1:{port}/",
                body=bodies["records"], check=lambda a: "predictions" in a,
            ))  # fmt: skip
        configs = [("conveyor", spec("nolog"), workers, CONNECTIONS)]
        if not args.focus:
            configs += [
                ("conveyor +log", spec("log", log_uri=str(log_dir)), workers, CONNECTIONS),
                ("conveyor +batching", spec("batch", batching={"max_batch": 64}), workers, (32,)),
                ("conveyor 1 worker", spec("nolog"), "1", (32,)),
                ("conveyor 1 worker +batching", spec("batch"), "1", (32,)),
            ]
        trees = [("", REPO / "src")]
        if args.baseline:
            trees.append((f" @{args.baseline}", _baseline_src(args.baseline)))
        v2_ok = lambda a: a["outputs"][0]["data"] == [expected]  # noqa: E731
        bin_ok = lambda a: a["_tail"] == np.array([expected], "<i8").tobytes()  # noqa: E731
        for suffix, src in trees:
            for name, spec_path, n_workers, conns in configs:
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                cmd = [py, "-m", "conveyor.serving", "--spec", str(spec_path), "--port",
                       str(port), "--workers", n_workers]  # fmt: skip
                targets.append(start(
                    stack, name + suffix, cmd, health=f"{base}/v2/health/ready",
                    url=f"{base}/invocations", body=bodies["records"], check=ok,
                    connections=conns, env={"PYTHONPATH": str(src)},
                ))  # fmt: skip
                if name != "conveyor" or not args.focus:
                    continue
                # the same server, its v2 routes (binary: this tree only)
                v2_url = f"{base}/v2/models/rf/infer"
                targets.append(Target(f"conveyor v2 JSON{suffix}", targets[-1].server, v2_url,
                                      bodies["v2"], conns))  # fmt: skip
                if not v2_ok(post_json(v2_url, bodies["v2"].read_bytes())):
                    raise RuntimeError("v2 JSON answer differs")
                if suffix:
                    continue
                headers = {"Content-Type": "application/octet-stream",
                           "Inference-Header-Content-Length": str(binary_header)}  # fmt: skip
                if not bin_ok(post_json(v2_url, bodies["binary"].read_bytes(), headers)):
                    raise RuntimeError("v2 binary answer differs")
                targets.append(Target("conveyor v2 binary", targets[-1].server, v2_url,
                                      bodies["binary"], conns, headers))  # fmt: skip
        if not args.skip_fastapi:
            port = free_port()
            targets.append(start(
                stack, "FastAPI (hand-written)",
                [*uv, "--port", str(port), "--app-dir", str(WORK), "fastapi_app:app"],
                health=f"http://127.0.0.1:{port}/health", url=f"http://127.0.0.1:{port}/predict",
                body=bodies["records"], check=lambda a: a.get("predictions") == [expected],
                env={"BENCH_DATA": str(data)},
            ))  # fmt: skip
        if mpy is not None:
            port = free_port()
            targets.append(start(
                stack, "mlflow models serve",
                [str(mpy.parent / "mlflow"), "models", "serve", "-m", str(WORK / "mlflow-model"),
                 "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", workers],
                health=f"http://127.0.0.1:{port}/ping",
                url=f"http://127.0.0.1:{port}/invocations", body=bodies["mlflow"],
                check=lambda a: a.get("predictions") == [expected],
                env={"PATH": f"{mpy.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
            ))  # fmt: skip
        load_start = os.getloadavg()[0]
        for t in targets:
            wrk(t.url, t.body, 32, args.warmup, t.headers)
        for i in range(args.rounds):
            for t in targets:
                for conns in t.conns:
                    cpu0 = cpu_seconds(t.server.pid)
                    r = wrk(t.url, t.body, conns, args.duration, t.headers)
                    cpu = cpu_seconds(t.server.pid) - cpu0
                    r["cpu_us_per_req"] = cpu / max(r["requests"], 1) * 1e6
                    t.samples[conns].append(r)
                    log(f"round {i + 1} {t.name} c={conns}: {r['rps']:.0f} req/s  "
                        f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
                        f"errors {r['errors']}")  # fmt: skip
        load_end = os.getloadavg()[0]
        results = [summarize(t, c) for t in targets for c in t.conns]
    logged = 0
    if log_dir.exists():  # the +log server has shut down gracefully: its log is flushed
        import pyarrow.dataset as ds

        logged = ds.dataset(log_dir / "predictions", format="parquet").count_rows()
    served = sum(
        r["requests"] for t in targets if t.name == "conveyor +log" for c in t.conns
        for r in t.samples[c]
    )  # fmt: skip
    report = render(results, args, load_start, load_end, logged, served, mlflow_version,
                    time.time() - started)  # fmt: skip
    print(report)
    _write(WORK / "results.json", json.dumps(results, indent=2))
    if not args.no_doc:
        update_doc_section(REPO / "docs" / "benchmarks.md", "Serving", report)
        log("wrote the Serving section of docs/benchmarks.md")
    return 0


def render(
    results: list[dict[str, Any]],
    args: argparse.Namespace,
    load_start: float,
    load_end: float,
    logged: int,
    served: int,
    mlflow_version: str,
    elapsed: float,
) -> str:
    by = {(r["server"], r["connections"]): r for r in results}
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{machine_info().get('cpu', '?')}, {os.cpu_count()} cores (load generator on the "
        f"same cores); load average {load_start:.1f} at start, {load_end:.1f} at end "
        f"(other work on the machine shares the cores). MLflow {mlflow_version}; "
        f"{args.workers} uvicorn workers for every server unless named; all servers up at "
        f"once, measured in {args.rounds} interleaved round(s) of {args.duration:g} s per "
        f"row with wrk (1 thread, keep-alive), the median round shown; one single-row JSON "
        f"POST per request; {elapsed:.0f} s in all.",
        "",
        "server CPU µs/req is the user + system CPU time of the server's processes during "
        "the measurement divided by the requests answered: the cost of one request, much "
        "less sensitive than req/s to other load on the machine. The last column shows each "
        "round's req/s: with other jobs sharing the two cores a configuration moves by up to "
        "±30% between rounds, so smaller differences (prediction log on/off, batching on/off, "
        "one or two workers) are within noise.",
        "",
        "Command: `" + " ".join(shlex.quote(a) for a in ["bench/serving.py", *sys.argv[1:]]) + "`"
        " (run with the project venv; needs `wrk`).",
        "",
        "| server | conns | req/s | p50 ms | p99 ms | errors | conveyor ÷ this "
        "| server CPU µs/req | rounds req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        ours = by.get(("conveyor", r["connections"]))
        ratio = f"{ours['rps'] / r['rps']:.2f}x" if ours else "—"
        lines.append(
            f"| {r['server']} | {r['connections']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['errors']} | {ratio} | {r['cpu_us_per_req']:.0f} "
            f"| {r['rounds']} |"
        )
    lines.append("")
    if args.baseline:
        lines += [
            f"This tree vs `{args.baseline}` (same rounds; req/s ratio, server CPU per request "
            "ratio; > 1.00 req/s and < 1.00 CPU mean this tree is faster):",
            "",
        ]
        for r in results:
            old = by.get((f"{r['server']} @{args.baseline}", r["connections"]))
            if old is not None:
                lines.append(
                    f"- {r['server']}, {r['connections']} conns: req/s "
                    f"{r['rps'] / old['rps']:.2f}x, CPU/req "
                    f"{r['cpu_us_per_req'] / old['cpu_us_per_req']:.2f}x"
                )
        lines.append("")
    c32 = by.get(("conveyor", 32))
    bare = by.get(("bare ASGI", 32))
    logged_run = by.get(("conveyor +log", 32))
    if c32:
        checks = [
            ("≥ 5,000 req/s at 32 connections", c32["rps"] >= 5000, f"{c32['rps']:,.0f}"),
            ("p99 ≤ 15 ms at 32 connections", c32["p99_ms"] <= 15, f"{c32['p99_ms']:.1f} ms"),
            ("zero errors", all(r["errors"] == 0 for r in results if "conveyor" in r["server"]),
             str(sum(r["errors"] for r in results if "conveyor" in r["server"]))),
        ]  # fmt: skip
        if bare:
            share = c32["rps"] / bare["rps"]
            checks.append(("≥ 40% of bare ASGI (req/s)", share >= 0.4, f"{share:.0%}"))
            by_cpu = bare["cpu_us_per_req"] / c32["cpu_us_per_req"]
            checks.append(
                ("≥ 40% of bare ASGI (by server CPU per request)", by_cpu >= 0.4, f"{by_cpu:.0%}")
            )
        if logged_run:
            cost = 1 - logged_run["rps"] / c32["rps"]
            checks.append(("prediction log costs ≤ 10% (req/s)", cost <= 0.10, f"{cost:.0%}"))
            cpu_cost = logged_run["cpu_us_per_req"] / c32["cpu_us_per_req"] - 1
            checks.append(
                ("prediction log costs ≤ 10% (server CPU per request)", cpu_cost <= 0.10,
                 f"{cpu_cost:+.0%}")
            )  # fmt: skip
        lines.append("Targets (32 connections):")
        lines.append("")
        for label, ok, value in checks:
            lines.append(f"- {label}: {value} — {'met' if ok else 'MISSED'}")
        lines.append(
            f"- prediction-log rows on disk after the `+log` server's graceful shutdown: "
            f"{logged:,} (measured requests {served:,}, plus warm-up and checks)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
