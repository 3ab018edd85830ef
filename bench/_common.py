"""Shared helpers for the benchmarks in this folder (standard library only).

Every benchmark compares Conveyor with a peer measured in the same run on the same
machine. Peers live in their own virtual environments under ``bench/.peers/<name>`` so
that neither product is imported into the other's process.

    from _common import ensure_venv, free_port, server_process, run_client

    py = ensure_venv("mlflow", ["mlflow"], check_import="mlflow")
    port = free_port()
    with server_process([...], health_url=f"http://127.0.0.1:{port}/health") as srv:
        result = run_client(py, script, {"url": srv.url})
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH_DIR",
    "PEERS_DIR",
    "REPO",
    "Server",
    "ensure_venv",
    "free_port",
    "machine_info",
    "percentile",
    "pkg_version",
    "rss_mb",
    "run_client",
    "server_process",
    "summarize_ms",
    "update_doc_section",
    "wait_http",
]

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PEERS_DIR = BENCH_DIR / ".peers"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- virtual environments for peers --------------------------------------------------------
def ensure_venv(
    name: str,
    packages: Sequence[str],
    *,
    check_import: str | None = None,
    base_python: str = "python3",
    timeout: float = 1800.0,
) -> Path:
    """The python of ``bench/.peers/<name>``, created and filled on first use.

    Packages are installed unpinned ("take what installs"); when ``check_import``
    already imports in that venv, nothing is (re)installed.
    """
    venv = PEERS_DIR / name
    python = venv / "bin" / "python"
    if python.exists() and check_import:
        ok = subprocess.run(
            [str(python), "-c", f"import {check_import}"], capture_output=True, timeout=120
        )
        if ok.returncode == 0:
            return python
    if not python.exists():
        log(f"creating venv {venv}")
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=300)
    log(f"pip install {' '.join(packages)} into {venv} (first run only)")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
        check=True,
        timeout=timeout,
    )
    return python


def pkg_version(python: str | Path, dist: str) -> str:
    """``importlib.metadata.version(dist)`` as seen by ``python`` ('?' when absent)."""
    code = (
        "import importlib.metadata as m, sys\n"
        f"try: print(m.version({dist!r}))\n"
        "except m.PackageNotFoundError: print('?')"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    return out.stdout.strip() or "?"


# -- processes and ports -------------------------------------------------------------------
def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                kids.extend(int(x) for x in text.split())
    except OSError:
        pass
    return kids


def rss_mb(pid: int, *, include_children: bool = True) -> float:
    """Resident memory of a process (and, by default, its descendants) in MiB (Linux)."""
    total = 0
    stack = [pid]
    seen: set[int] = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        if include_children:
            stack.extend(_children(p))
    return total / 1024.0


def wait_http(
    url: str,
    *,
    deadline_s: float = 60.0,
    proc: subprocess.Popen[Any] | None = None,
    ok_status: tuple[int, ...] = (200,),
) -> float:
    """Poll ``url`` until it answers with ``ok_status``; returns seconds waited.

    Raises RuntimeError when ``proc`` exits first or the deadline passes.
    """
    start = time.monotonic()
    delay = 0.02
    last: str = "no answer yet"
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2.0) as resp:
                if resp.status in ok_status:
                    return time.monotonic() - start
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() - start > deadline_s:
            raise RuntimeError(f"{url} not ready after {deadline_s:.0f}s ({last})")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


@dataclass
class Server:
    """A running server subprocess (its own process group)."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    startup_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


def _stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # the group we created: server + its workers
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


@contextlib.contextmanager
def server_process(
    name: str,
    cmd: Sequence[str],
    *,
    health_url: str,
    base_url: str,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    deadline_s: float = 90.0,
    log_dir: str | Path | None = None,
    inherit_env: bool = True,
) -> Iterator[Server]:
    """Start ``cmd`` in a new process group, wait for ``health_url``, stop it on exit.

    Output goes to ``<log_dir>/<name>.log``; if the server dies or never becomes ready
    the tail of that log is part of the error. With ``inherit_env=False`` the process
    sees only ``env``.
    """
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="bench-logs-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, **(env or {})} if inherit_env else dict(env or {})
    # benchmarks serve one local user on loopback: no tokens (older trees ignore this)
    full_env.setdefault("CONVEYOR_AUTH", "insecure-local")
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            list(cmd),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )
    server = Server(name, proc, base_url.rstrip("/"), log_path)
    try:
        try:
            server.startup_s = wait_http(health_url, deadline_s=deadline_s, proc=proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{name}: {exc}\n--- {log_path} ---\n{server.log_tail()}") from None
        yield server
    finally:
        _stop(proc)


# -- client subprocesses -------------------------------------------------------------------
def run_client(
    python: str | Path,
    script: str,
    args: dict[str, Any],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 1800.0,
    cwd: str | Path | None = None,
    inherit_env: bool = True,
) -> dict[str, Any]:
    """Run ``script`` under ``python`` with ``args`` as JSON in argv[1].

    The script prints one JSON object as its last stdout line; that object is returned.
    Its stderr passes through (progress). A non-zero exit raises with its output.
    With ``inherit_env=False`` the process sees only ``env``.
    """
    full_env = {**os.environ, **(env or {})} if inherit_env else dict(env or {})
    # benchmarks serve one local user on loopback: no tokens (older trees ignore this)
    full_env.setdefault("CONVEYOR_AUTH", "insecure-local")
    proc = subprocess.run(
        [str(python), "-c", script, json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=None,
        env=full_env,
        cwd=str(cwd) if cwd else None,
        timeout=timeout,
        text=True,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"client {python} exited {proc.returncode}; stdout tail:\n" + "\n".join(lines[-20:])
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# -- statistics ----------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    data = sorted(values)
    if not data:
        return float("nan")
    k = (len(data) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def summarize_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """Median / p95 / min / max in milliseconds of durations given in seconds."""
    ms = [s * 1000.0 for s in samples_s]
    return {
        "median_ms": statistics.median(ms),
        "p95_ms": percentile(ms, 95),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "n": len(ms),
    }


# -- reporting -----------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    """CPU count, CPU model, memory and OS of this machine."""
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["mem_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    return info


def update_doc_section(path: str | Path, heading: str, body: str, *, title: str = "") -> None:
    """Replace the ``## <heading>`` section of a Markdown file (create file/section if absent).

    The section runs from its heading to the next ``## `` heading; other sections are
    left byte-for-byte as they were.
    """
    path = Path(path)
    text = path.read_text() if path.exists() else (title or "# Benchmarks") + "\n"
    block = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block + "\n", text, count=1)
        text = text.rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
