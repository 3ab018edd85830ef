"""``serving``: ready to serve — ONNX parity, single-row p99 latency, size, signature.

::

    - serving:
        max_p99_ms: 50          # p99 of single-row predictions, short in-process probe
        probe_rows: 200         # how many single-row predictions the probe times
        max_size_mb: 500        # sum of the version's files
        require_onnx: false     # true: a version served natively (no ONNX) fails
        signature: true         # no champion input removed or retyped, no new required input

Parity comes from the deploy-time compile (cached per version; compiled now when it never
was): a version whose ONNX parity failed is served natively, which fails this check only
with ``require_onnx``; the parity report is in the evidence either way.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from conveyor.gates._registry import Check, register_check
from conveyor.gates.checks import _params as p
from conveyor.gates.context import GateContext
from conveyor.gates.policy import param_error
from conveyor.gates.report import CheckOutcome

__all__ = ["Serving", "signature_problems"]


def _inputs(signature: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in (signature or {}).get("inputs") or [] if c.get("name")}


def signature_problems(
    candidate: dict[str, Any] | None, champion: dict[str, Any] | None
) -> list[str]:
    """Inputs the champion takes that the candidate removed or retyped, and new required
    inputs callers of the champion do not send."""
    cand, champ = _inputs(candidate), _inputs(champion)
    out = [f"input {n!r} removed" for n in champ if n not in cand]
    out += [
        f"input {n!r} retyped {champ[n]['type']} → {cand[n]['type']}"
        for n in champ
        if n in cand and cand[n]["type"] != champ[n]["type"]
    ]
    out += [
        f"new required input {n!r}"
        for n, c in cand.items()
        if n not in champ and c.get("required", True)
    ]
    return out


class Serving(Check):
    name = "serving"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p.known_keys(
            params, {"max_p99_ms", "probe_rows", "max_size_mb", "require_onnx", "signature"}
        )
        for key in ("require_onnx", "signature"):
            if not isinstance(params.get(key, key == "signature"), bool):
                raise param_error(key, f"must be true or false, got {params[key]!r}")
        return {
            "max_p99_ms": p.number(params, "max_p99_ms", 50.0, lo=0.0),
            "probe_rows": p.positive_int(params, "probe_rows", 200),
            "max_size_mb": p.number(params, "max_size_mb", 500.0, lo=0.0),
            "require_onnx": params.get("require_onnx", False),
            "signature": params.get("signature", True),
        }

    def run(self, ctx: GateContext, params: dict[str, Any]) -> CheckOutcome:
        from conveyor.deployments.compile import ensure_compiled

        mv = ctx.version
        problems: list[str] = []
        rows: list[dict[str, Any]] = []
        compiled = ensure_compiled(ctx.backend, mv)
        parity = compiled.parity or {}
        onnx_ok = compiled.status == "onnx"
        if params["require_onnx"] and not onnx_ok:
            problems.append(f"not servable as ONNX: {compiled.reason}")
        rows.append(
            {
                "item": "onnx",
                "value": compiled.status,
                "limit": "onnx" if params["require_onnx"] else "any",
                "ok": onnx_ok or not params["require_onnx"],
            }
        )

        p99 = self._probe(ctx, params["probe_rows"])
        if p99 > params["max_p99_ms"]:
            problems.append(f"p99 {p99:.2f} ms > {params['max_p99_ms']:g} ms")
        rows.append(
            {
                "item": "p99_ms",
                "value": p99,
                "limit": params["max_p99_ms"],
                "ok": p99 <= params["max_p99_ms"],
            }
        )

        size_mb = sum(int(f.get("size") or 0) for f in mv.files) / 1e6
        if size_mb > params["max_size_mb"]:
            problems.append(f"size {size_mb:.1f} MB > {params['max_size_mb']:g} MB")
        rows.append(
            {
                "item": "size_mb",
                "value": size_mb,
                "limit": params["max_size_mb"],
                "ok": size_mb <= params["max_size_mb"],
            }
        )

        champion = None
        if params["signature"]:
            from conveyor.errors import NotFound
            from conveyor.registry import service as registry

            with ctx.backend.meta.read() as conn:
                try:
                    champion = registry.resolve_version(conn, mv.name, "champion")
                except NotFound:
                    champion = None
            found = signature_problems(mv.signature, champion.signature) if champion else []
            problems += found
            rows.append(
                {
                    "item": "signature",
                    "value": "; ".join(found) or ("compatible" if champion else "no champion"),
                    "limit": "compatible",
                    "ok": not found,
                }
            )
        return CheckOutcome(
            "fail" if problems else "pass",
            value=p99,
            threshold=f"p99 <= {params['max_p99_ms']:g} ms, size <= {params['max_size_mb']:g} MB",
            message="; ".join(problems) or f"{compiled.status}, p99 {p99:.2f} ms, {size_mb:.2f} MB",
            evidence={
                "items": rows,
                "parity": parity,
                "compile_reason": compiled.reason,
                "champion_version": champion.version if champion else None,
            },
        )

    @staticmethod
    def _probe(ctx: GateContext, rows: int) -> float:
        """p99 (ms) of one-row ``predict`` calls on evaluation rows, after a warm-up call."""
        loaded = ctx.candidate.loaded
        x = ctx.inputs(loaded)
        take = x.iloc[np.arange(min(rows, len(x)))]
        loaded.predict(take.iloc[:1])
        times = []
        for i in range(len(take)):
            row = take.iloc[i : i + 1]
            start = time.perf_counter()
            loaded.predict(row)
            times.append((time.perf_counter() - start) * 1000.0)
        return float(np.percentile(times, 99)) if times else 0.0


register_check(Serving())
