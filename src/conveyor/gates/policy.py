"""Gate policies: parsed from YAML text or a Python dict, validated, normalised.

::

    evaluation_dataset: churn-eval@latest          # name@version|latest
    label: churned                                  # default: label / target / y
    checks:
      - metric: auc
        min: 0.80
      - versus_champion: {metric: auc, max_drop: 0.01, confidence: 0.95}
      - fairness:
          sensitive: [gender]
          demographic_parity_ratio: {min: 0.8}
          equalized_odds_difference: {max: 0.1}
    protected_aliases: [champion]

Each entry of ``checks`` names one registered check: either ``{kind: {params}}`` or, for
checks whose main parameter is a scalar (``metric: auc``), the flat form with the
parameters beside it. Every error names the YAML line (when the policy came from YAML),
the key path (``checks[1].versus_champion.max_drop``) and the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from conveyor.errors import ValidationFailed

__all__ = [
    "CheckSpec",
    "Policy",
    "PolicyError",
    "parse_policy",
]

_TOP_KEYS = {
    "evaluation_dataset",
    "label",
    "positive",
    "threshold",
    "checks",
    "protected_aliases",
    "rollout",
    "description",
}
_COMMON_CHECK_KEYS = {"name", "on_error", "on_insufficient"}
_OUTCOMES = ("fail", "pass")


class PolicyError(ValidationFailed):
    """An invalid gate policy; ``details`` carry ``path`` and ``line`` (1-based or None)."""


@dataclass(frozen=True)
class CheckSpec:
    """One configured check: its registered ``kind``, a display ``name`` and parameters.

    ``on_error`` / ``on_insufficient`` say what a crash or missing data counts as
    (``fail`` — fail closed — by default).
    """

    kind: str
    name: str
    params: dict[str, Any]
    on_error: str = "fail"
    on_insufficient: str = "fail"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "params": self.params,
            "on_error": self.on_error,
            "on_insufficient": self.on_insufficient,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckSpec:
        return cls(
            data["kind"],
            data["name"],
            dict(data["params"]),
            data.get("on_error", "fail"),
            data.get("on_insufficient", "fail"),
        )


@dataclass(frozen=True)
class Policy:
    """A validated gate policy (the normalised form is what the store keeps)."""

    evaluation_dataset: str
    dataset_ref: str
    checks: list[CheckSpec]
    label: str | None = None
    positive: Any = None
    threshold: float = 0.5
    protected_aliases: list[str] = field(default_factory=lambda: ["champion"])
    rollout: dict[str, Any] | None = None
    description: str = ""

    @property
    def dataset_name(self) -> str:
        return self.evaluation_dataset.split("@", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluation_dataset": self.evaluation_dataset,
            "dataset_ref": self.dataset_ref,
            "label": self.label,
            "positive": self.positive,
            "threshold": self.threshold,
            "checks": [c.to_dict() for c in self.checks],
            "protected_aliases": list(self.protected_aliases),
            "rollout": self.rollout,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """The stored (normalised) form back as a Policy — no re-validation."""
        _name, _, ref = data["evaluation_dataset"].partition("@")
        return cls(
            evaluation_dataset=data["evaluation_dataset"],
            dataset_ref=ref or "latest",
            checks=[CheckSpec.from_dict(c) for c in data["checks"]],
            label=data.get("label"),
            positive=data.get("positive"),
            threshold=float(data.get("threshold", 0.5)),
            protected_aliases=list(data.get("protected_aliases") or ["champion"]),
            rollout=data.get("rollout"),
            description=data.get("description", ""),
        )


# -- YAML with line numbers -----------------------------------------------------------------
class _Lines:
    """Key path → 1-based source line, recorded while composing the YAML node tree."""

    def __init__(self) -> None:
        self.by_path: dict[str, int] = {}

    def walk(self, node: yaml.Node, path: str) -> None:
        self.by_path.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = f"{path}.{key.value}" if path else str(key.value)
                self.by_path[sub] = key.start_mark.line + 1
                self.walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, f"{path}[{i}]")

    def line(self, path: str) -> int | None:
        while path:
            if path in self.by_path:
                return self.by_path[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None


def _load_yaml(text: str, source: str) -> tuple[Any, _Lines]:
    lines = _Lines()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f"{source} line {line}" if line else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(
            f"{where}: not valid YAML ({problem}); fix the syntax and set the policy again",
            details={"line": line, "path": None},
        ) from None
    if node is not None:
        lines.walk(node, "")
    return data, lines


# -- validation -----------------------------------------------------------------------------
class _Validator:
    def __init__(self, source: str, lines: _Lines | None) -> None:
        self.source = source
        self.lines = lines

    def fail(self, path: str, problem: str) -> PolicyError:
        line = self.lines.line(path) if self.lines is not None else None
        where = f"{self.source} line {line}, {path}" if line else f"{self.source}, {path}"
        return PolicyError(f"{where}: {problem}", details={"path": path, "line": line})

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping of keys, got {_shown(value)}")
        return {str(k): v for k, v in value.items()}

    def number(self, value: Any, path: str, *, lo: float | None = None, hi: float | None = None):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise self.fail(path, f"must be a number, got {_shown(value)}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.fail(path, f"must be {_range(lo, hi)}, got {value}")
        return float(value)

    def string_list(self, value: Any, path: str) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(path, f"must be a non-empty list of names, got {_shown(value)}")
        return list(value)

    def unknown(self, data: Mapping[str, Any], allowed: set[str], path: str) -> None:
        extra = sorted(set(data) - allowed)
        if extra:
            where = f"{path}.{extra[0]}" if path else extra[0]
            raise self.fail(
                where, f"unknown key {extra[0]!r}; known keys: {', '.join(sorted(allowed))}"
            )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dataset(value: Any, v: _Validator) -> tuple[str, str]:
    if not isinstance(value, str) or not value.strip():
        raise v.fail(
            "evaluation_dataset",
            f"must be a dataset reference name@version or name@latest, got {_shown(value)}",
        )
    name, _, ref = value.strip().partition("@")
    ref = ref or "latest"
    if not name or not (ref == "latest" or ref.isdigit()):
        raise v.fail(
            "evaluation_dataset",
            f"{value!r} is not name@version or name@latest (e.g. churn-eval@3)",
        )
    return f"{name}@{ref}", ref


def _check_entry(item: Any, index: int, v: _Validator) -> CheckSpec:
    from conveyor.gates._registry import available_checks, get_check

    path = f"checks[{index}]"
    data = v.mapping(item, path)
    known = available_checks()
    kinds = [k for k in data if k in known]
    if not kinds:
        raise v.fail(
            path,
            f"names no check (keys: {', '.join(sorted(data)) or 'none'}); "
            f"available checks: {', '.join(known)}",
        )
    if len(kinds) > 1:
        raise v.fail(path, f"names several checks ({', '.join(kinds)}); give one per entry")
    kind = kinds[0]
    check = get_check(kind)
    common = {k: data.pop(k) for k in list(data) if k in _COMMON_CHECK_KEYS}
    if isinstance(data[kind], Mapping) and len(data) == 1:
        params_path = f"{path}.{kind}"
        params = v.mapping(data[kind], params_path)
    else:
        params_path = path
        params = data  # flat form: metric: auc, min: 0.8
    outcomes = {}
    for key in ("on_error", "on_insufficient"):
        outcome = common.get(key, "fail")
        if outcome not in _OUTCOMES:
            raise v.fail(
                f"{path}.{key}", f"must be 'fail' (fail closed) or 'pass', got {outcome!r}"
            )
        outcomes[key] = outcome
    try:
        normalised = check.validate(dict(params))
    except _ParamError as exc:
        raise v.fail(f"{params_path}.{exc.key}" if exc.key else params_path, exc.problem) from None
    name = common.get("name") or check.describe(normalised)
    if not isinstance(name, str):
        raise v.fail(f"{path}.name", f"must be a string, got {_shown(name)}")
    return CheckSpec(kind, name, normalised, outcomes["on_error"], outcomes["on_insufficient"])


class _ParamError(Exception):
    def __init__(self, key: str | None, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


def param_error(key: str | None, problem: str) -> Exception:
    """What a check's ``validate`` raises for a bad parameter (the policy adds line + path)."""
    return _ParamError(key, problem)


def parse_policy(policy: str | Mapping[str, Any], *, source: str = "policy") -> Policy:
    """Validate a policy given as YAML text or a dict; PolicyError names line/key/problem.

    This checks the policy's shape and each check's parameters; the store-dependent checks
    (the dataset exists, columns exist) run in :func:`conveyor.gates.service.set_policy`.
    """
    lines: _Lines | None = None
    if isinstance(policy, str):
        data, lines = _load_yaml(policy, source)
    else:
        data = policy
    v = _Validator(source, lines)
    if data is None:
        raise PolicyError(f"{source}: the policy is empty; it needs evaluation_dataset and checks")
    top = v.mapping(data, "policy") if not isinstance(data, Mapping) else dict(data)
    v.unknown(top, _TOP_KEYS, "")
    if "evaluation_dataset" not in top:
        raise v.fail(
            "evaluation_dataset", "is required (a dataset version, e.g. churn-eval@latest)"
        )
    evaluation, ref = _dataset(top["evaluation_dataset"], v)
    checks_raw = top.get("checks")
    if not isinstance(checks_raw, list) or not checks_raw:
        raise v.fail("checks", f"must be a non-empty list of checks, got {_shown(checks_raw)}")
    checks = [_check_entry(item, i, v) for i, item in enumerate(checks_raw)]
    names = [c.name for c in checks]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        index = names.index(dupes[0], names.index(dupes[0]) + 1)
        raise v.fail(
            f"checks[{index}]", f"repeats the check {dupes[0]!r}; give it a distinct name: key"
        )
    label = top.get("label")
    if label is not None and (not isinstance(label, str) or not label):
        raise v.fail("label", f"must be a column name, got {_shown(label)}")
    aliases = v.string_list(top.get("protected_aliases", ["champion"]), "protected_aliases")
    for i, alias in enumerate(aliases):
        if alias == "latest" or alias.isdigit():
            raise v.fail(f"protected_aliases[{i}]", f"{alias!r} is not an alias name")
    rollout = top.get("rollout")
    if rollout is not None:
        rollout = _rollout_section(rollout, v)
    threshold = v.number(top.get("threshold", 0.5), "threshold", lo=0.0, hi=1.0)
    description = top.get("description", "")
    if not isinstance(description, str):
        raise v.fail("description", f"must be a string, got {_shown(description)}")
    return Policy(
        evaluation_dataset=evaluation,
        dataset_ref=ref,
        checks=checks,
        label=label,
        positive=top.get("positive"),
        threshold=threshold,
        protected_aliases=aliases,
        rollout=rollout,
        description=description,
    )


_ROLLOUT_KEYS = {"steps", "interval", "min_samples", "max_hold", "alias", "require_approval"}


def _rollout_section(value: Any, v: _Validator) -> dict[str, Any]:
    """The ``rollout:`` defaults of ``conveyor rollout start``, normalised: ``steps`` as a
    list of weights, durations as seconds, thresholds of the rollout analysis by name."""
    from conveyor._util import parse_duration
    from conveyor.deployments.rollout_analysis import Thresholds
    from conveyor.deployments.rollout_entities import parse_steps

    data = v.mapping(value, "rollout")
    fields = Thresholds.__dataclass_fields__
    v.unknown(data, _ROLLOUT_KEYS | set(fields), "rollout")
    out: dict[str, Any] = {}
    for key, raw in data.items():
        path = f"rollout.{key}"
        try:
            if key == "steps":
                out[key] = list(parse_steps(raw if isinstance(raw, str | list) else [raw]))
            elif key in ("interval", "max_hold"):
                out[key] = parse_duration(raw)
                if key == "interval" and out[key] <= 0:
                    raise v.fail(path, f"must be a positive duration, got {_shown(raw)}")
            elif key == "alias":
                if not isinstance(raw, str) or not raw or raw == "latest" or raw.isdigit():
                    raise v.fail(path, f"must be an alias name, got {_shown(raw)}")
                out[key] = raw
            elif key == "require_approval" or fields[key].type in (bool, "bool"):
                if not isinstance(raw, bool):
                    raise v.fail(path, f"must be true or false, got {_shown(raw)}")
                out[key] = raw
            elif key == "min_samples" or fields[key].type in (int, "int"):
                if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                    raise v.fail(path, f"must be a positive integer, got {_shown(raw)}")
                out[key] = raw
            else:
                unit = key in ("alpha", "confidence")  # probabilities
                out[key] = v.number(raw, path, lo=0.0, hi=1.0 if unit else None)
        except ValidationFailed as exc:
            if isinstance(exc, PolicyError):
                raise
            raise v.fail(path, str(exc)) from None
    return out


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"between {lo:g} and {hi:g}"
    return f">= {lo:g}" if lo is not None else f"<= {hi:g}"
