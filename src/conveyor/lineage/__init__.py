"""Lineage: the graph from data to predictions, model cards and compliance bundles.

* :mod:`conveyor.lineage.service` walks the graph (``conveyor lineage <object>``);
* :mod:`conveyor.lineage.svg` draws it;
* :mod:`conveyor.lineage.card` builds a model card (Markdown, HTML, Model Card Toolkit JSON);
* :mod:`conveyor.lineage.bundle` writes the compliance bundle (``conveyor export-docs``);
* :mod:`conveyor.lineage.providers` is where other features supply card sections.
"""
