"""Built-in gate checks; importing this package registers them on the check registry."""

from conveyor.gates.checks import champion, data, fairness, metrics, serving, slices

__all__ = ["champion", "data", "fairness", "metrics", "serving", "slices"]
