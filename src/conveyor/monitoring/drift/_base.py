"""The drift-method seam: what a method computes and how it decides.

A method turns a (reference, current) pair of one column into a :class:`Measurement`
and then, given a threshold, into a verdict. Built-in methods and user plugins are the
same kind of object, registered by name in :mod:`conveyor.monitoring.drift._registry`::

    class MedianShift(DriftMethod):
        name = "median_shift"
        kind = "numeric"
        default_threshold = 0.25

        def measure(self, reference, current):
            scale = float(np.std(reference.values)) or 1.0
            d = abs(float(np.median(current.values) - np.median(reference.values))) / scale
            return Measurement(statistic=d, distance=d)

    register_method(MedianShift())

Numeric methods receive two :class:`~conveyor.monitoring._columns.NumericSample` (sorted
finite values); categorical methods two float count vectors on one category axis
(reference categories first, then categories unseen in the reference, whose reference
count is 0).

Two decision styles:

* **p-value methods** (``uses_p_value = True``): the threshold is the family-wise
  significance level; the engine divides it by the number of p-value tests in the report
  (Bonferroni) and the column drifts when ``p < alpha_adjusted`` **and** the effect
  ``distance >= min_effect`` (so huge samples do not flag trivial shifts).
* **distance methods**: the column drifts when ``distance >= threshold``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

__all__ = ["DriftMethod", "InsufficientData", "Kind", "Measurement"]

Kind = Literal["numeric", "categorical"]


class InsufficientData(Exception):
    """Raised by a method when the data cannot support a verdict; the message is the reason."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a method measured on one column."""

    statistic: float
    distance: float
    p_value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


class DriftMethod(ABC):
    """Base of every drift method (built-in or plugin)."""

    name: ClassVar[str]
    kind: ClassVar[Kind]
    default_threshold: ClassVar[float]
    uses_p_value: ClassVar[bool] = False
    #: p-value methods only: the smallest effect (``Measurement.distance``) that counts
    min_effect: float = 0.0
    #: what ``distance`` means, for reports
    distance_label: ClassVar[str] = "distance"

    @abstractmethod
    def measure(self, reference: Any, current: Any) -> Measurement:
        """Compare one column; see the module docstring for the argument types."""

    def is_drift(self, m: Measurement, threshold: float) -> bool:
        """The verdict. ``threshold`` is already Bonferroni-adjusted for p-value methods."""
        if self.uses_p_value:
            return m.p_value is not None and m.p_value < threshold and m.distance >= self.min_effect
        return m.distance >= threshold
