"""Registers the built-in drift methods on the same registry plugins use."""

from __future__ import annotations

from conveyor.monitoring.drift._registry import register_method
from conveyor.monitoring.drift.chisquare import ChiSquare
from conveyor.monitoring.drift.jensenshannon import JensenShannon
from conveyor.monitoring.drift.ks import KolmogorovSmirnov
from conveyor.monitoring.drift.psi import CategoricalPSI, NumericPSI
from conveyor.monitoring.drift.wasserstein import WassersteinNormed

__all__ = ["DEFAULT_METHODS"]

#: the method used for each kind when the caller names none
DEFAULT_METHODS = {"numeric": "ks", "categorical": "chisquare"}

for _method in (
    KolmogorovSmirnov(),
    WassersteinNormed(),
    NumericPSI(),
    ChiSquare(),
    JensenShannon(),
    CategoricalPSI(),
):
    register_method(_method, replace=True)
