"""Parse model references given to ``deploy``: ``name@alias``, ``name/3``, ``name/3:10``."""

from __future__ import annotations

from dataclasses import dataclass

from conveyor.errors import ValidationFailed

__all__ = ["ModelRef", "parse_ref"]


@dataclass(frozen=True)
class ModelRef:
    """A model reference before resolution: ``ref`` is a version number, alias or latest."""

    model: str
    ref: str
    weight: float | None = None
    is_alias: bool = False

    def __str__(self) -> str:
        return f"{self.model}{'@' if self.is_alias else '/'}{self.ref}"


def parse_ref(text: str, what: str = "model") -> ModelRef:
    """``name@alias``, ``name/<version>``, ``name/latest``, each optionally ``:<weight>``.

    A ``models:/`` prefix is accepted. Model names may contain ``/``, so the version is the
    part after the last ``/``.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed(f"{what} must be a model reference like churn@champion or churn/3")
    spec = text.strip()
    if spec.startswith("models:/"):
        spec = spec[len("models:/") :]
    weight: float | None = None
    if ":" in spec:
        spec, _, raw = spec.rpartition(":")
        try:
            weight = float(raw)
        except ValueError:
            raise ValidationFailed(
                f"{what} {text!r}: the weight after ':' must be a number, got {raw!r}"
            ) from None
        if not 0 <= weight <= 100:
            raise ValidationFailed(f"{what} {text!r}: weight {weight:g} is not within 0-100")
    if "@" in spec:
        name, _, alias = spec.rpartition("@")
        if name and alias:
            return ModelRef(name, alias, weight, is_alias=True)
    else:
        name, _, ref = spec.rpartition("/")
        if name and ref and (ref.isdigit() or ref == "latest"):
            return ModelRef(name, ref, weight)
    raise ValidationFailed(
        f"bad {what} reference {text!r}: use <name>@<alias>, <name>/<version> or "
        "<name>/latest, with an optional :<weight> (e.g. churn/4:10)"
    )
