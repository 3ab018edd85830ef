"""The SVG drawing: well-formed, self-contained, every node and edge drawn, causes to the
left of their effects."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from conveyor.lineage.graph import Edge, LineageGraph, Node
from conveyor.lineage.svg import render_svg

NS = "{http://www.w3.org/2000/svg}"


def _graph() -> LineageGraph:
    nodes = [
        Node("dataset_version", "customers/2", "customers v2"),
        Node("run", "r1", "run train"),
        Node("model_version", "churn/3", "churn v3"),
        Node("gate_report", "g1", "gates passed"),
        Node("rollout", "ro1", "rollout <churn/3> & co"),
        Node("deployment_revision", "churn-api/4", "churn-api rev 4", {"missing": "gone"}),
    ]
    edges = [
        Edge("dataset:customers/2", "run:r1", "training"),
        Edge("run:r1", "model:churn/3", "registered"),
        Edge("model:churn/3", "gate-report:g1", "evaluated"),
        Edge("gate-report:g1", "rollout:ro1", "cleared"),
        Edge("model:churn/3", "rollout:ro1", "candidate"),
        Edge("rollout:ro1", "deployment:churn-api/4", "step"),
    ]
    return LineageGraph("model:churn/3", "both", 8, nodes, edges)


def test_svg_is_well_formed_and_self_contained() -> None:
    text = render_svg(_graph())
    root = ET.fromstring(text)
    assert root.tag == f"{NS}svg"
    assert "<script" not in text and "href" not in text
    assert re.findall(r"https?://[^\"]+", text) == ["http://www.w3.org/2000/svg"]
    titles = {t.text for t in root.iter(f"{NS}title")}
    assert {n.id for n in _graph().nodes} <= titles
    assert len(root.findall(f".//{NS}path")) == 1 + len(_graph().edges)  # arrow + edges
    assert "rollout &lt;churn/3&gt; &amp; co" in text  # labels escaped


def test_causes_are_left_of_their_effects() -> None:
    root = ET.fromstring(render_svg(_graph()))
    x = {}
    for g in root.iter(f"{NS}g"):
        title = g.find(f"{NS}title")
        rect = g.find(f"{NS}rect")
        assert title is not None and rect is not None
        x[title.text] = float(rect.get("x", "0"))
    for e in _graph().edges:
        assert x[e.source] < x[e.target], e
