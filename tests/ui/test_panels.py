"""The panels added for issue 15's gaps, in Chromium: a long metric drawn from its envelope
(all points and zoom on demand), an endpoint's traffic and prediction log, a model
version's global explanations."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conveyor.tracking.metric_rows import MetricRows

from .conftest import axe_violations, settle

pytestmark = pytest.mark.server

POINTS = 6000  # more than a 1280-pixel-wide page asks for (2 per pixel column)


def _long_run(url: str, experiment_id: str) -> str:
    from conveyor.backend.http import HttpBackend

    with HttpBackend(url) as client:
        run = client.create_run(experiment_id, name="long-training")
        steps = list(range(POINTS))
        values = [math.exp(-s / 2000) + (s % 7) / 100 for s in steps]
        client.log_batch(run.id, metrics=MetricRows(["loss"] * POINTS, values, steps, steps))
        client.end_run(run.id, "FINISHED")
        return str(run.id)


def test_a_long_metric_is_drawn_from_its_envelope_then_in_full(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    run = _long_run(ui_server[0], ui_server[1]["experiment"].id)
    with page.expect_response(lambda r: "/metric-chart?" in r.url) as answer:
        page.goto(f"/runs/{run}?tab=metrics")
    assert "max_points=2560" in answer.value.url  # two per pixel column of the viewport
    settle(page)
    note = page.locator(".chart-note")
    assert "6,000 points, drawn as the lowest and highest value of each range of steps" in (
        note.inner_text()
    )
    # drag over a quarter: load those steps; the note names the range as soon as it is
    # chosen, before that range's points arrive
    with page.expect_response(lambda r: "/metric-chart?" in r.url and "min_step=" in r.url):
        _drag(page, page.locator("figure.chart .u-over"), 0.25, 0.5)
    page.locator(".chart-note", has_text="in steps").wait_for()
    settle(page)
    zoomed = note.inner_text()
    assert "drawn as" not in zoomed, zoomed  # a quarter of the steps: every point
    page.get_by_role("button", name="Reset").click()
    settle(page)
    with page.expect_response(lambda r: "/metric-columns?" in r.url):
        page.get_by_role("button", name="Show all 6,000 points").click()
    settle(page)
    assert note.inner_text().startswith("6,000 points")
    assert page.locator("figure.chart canvas").count() == 1


def _traffic(page: Any) -> Any:
    return page.locator("section", has=page.locator("h2", has_text="Latency, throughput"))


def _endpoint_page(
    page: Any, url: str, endpoint: str, write: Callable[..., Any], minutes: int, **args: Any
) -> Any:
    """Deploy ``endpoint``, write its prediction log from ``minutes`` ago (``write(log root,
    endpoint=, start_ms=, **args)``, where the server's settings put it), open its page; the
    traffic section."""
    from conveyor._util import now_ms
    from conveyor.backend.http import HttpBackend
    from conveyor.monitoring.windows import default_log_uri

    with HttpBackend(url) as client:
        client.deploy(endpoint, model="churn@champion", compile=False)
    write(Path(default_log_uri()), endpoint=endpoint, start_ms=now_ms() - minutes * 60_000, **args)
    page.goto(f"/endpoints/{endpoint}")
    settle(page)
    return _traffic(page)


def _drag(page: Any, plot: Any, start: float, end: float) -> None:
    """Drag across ``plot`` from ``start`` to ``end`` (shares of its width), mid-height."""
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end, y, steps=5)
    page.mouse.up()


def _x_ranges(traffic: Any) -> list[tuple[float, float]]:
    """The time range each traffic chart draws (epoch ms, from its figure's data-x-min/max)."""
    return [
        (float(f.get_attribute("data-x-min")), float(f.get_attribute("data-x-max")))
        for f in traffic.locator("figure.chart").all()
    ]


def test_endpoint_page_charts_traffic_and_samples_the_log(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    from tests.monitoring.test_loop_helpers import write_log

    from conveyor._util import now_ms
    from conveyor.monitoring.windows import default_log_uri

    # the server reads the prediction log where this test's settings put it
    data = write_log(Path(default_log_uri()), n_requests=30, start_ms=now_ms() - 30 * 60_000)
    page.goto("/endpoints/churn")
    settle(page)
    traffic = _traffic(page)
    assert "30 requests (120 rows)" in traffic.locator(".traffic-totals").inner_text()
    for chart in ("Latency p50, p95 and p99", "Requests per second", "Fallback share"):
        assert traffic.get_by_role("img", name=f"{chart} over time").locator("canvas").count() == 1
    log = page.get_by_role("table", name="Prediction log sample")
    assert log.locator("tbody tr").count() == 50
    assert data.ids[-1] in log.locator("tbody tr").first.inner_text()  # newest first
    assert axe_violations(page) == []
    page.get_by_label("last 6h").check()
    settle(page)
    assert page.url.endswith("?window=6h")
    assert "30 requests" in traffic.locator(".traffic-totals").inner_text()


def test_endpoint_page_says_errors_are_not_logged_when_the_log_has_no_status(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    from tests.monitoring.test_loop_helpers import write_predictions

    # a log without status or error column (what servers wrote before they logged failures)
    traffic = _endpoint_page(
        page, ui_server[0], "unlogged", write_predictions, 10, outputs=[0.2] * 20
    )
    assert "20 requests (20 rows)" in traffic.locator(".traffic-totals").inner_text()
    assert "errors not logged" in traffic.locator(".traffic-totals").inner_text()
    errors = traffic.locator(".metric.errors")
    assert errors.locator("figure.chart").count() == 0  # a note, not an empty chart
    assert errors.locator(".not-logged").inner_text().startswith("Errors not logged")
    assert traffic.locator("figure.chart canvas").count() == 3  # the other three charts
    assert axe_violations(page) == []


def test_endpoint_page_charts_errors_over_time_when_the_log_has_them(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    from tests.monitoring.test_loop_helpers import write_failures, write_log

    from conveyor.backend.http import HttpBackend

    def write(root: Path, endpoint: str, start_ms: int) -> None:
        write_log(root, n_requests=30, rows_per_request=1, start_ms=start_ms, endpoint=endpoint)
        # 10 failed requests (503) among 40, one row each: 0.25 of the rows and of the requests
        failed = [start_ms + 150_000 + i * 10_000 for i in range(10)]
        write_failures(root, failed, endpoint=endpoint)

    traffic = _endpoint_page(page, ui_server[0], "churn-errors", write, 40)
    assert "errors 0.25" in traffic.locator(".traffic-totals").inner_text()
    errors = traffic.locator(".metric.errors")
    assert errors.locator(".not-logged").count() == 0
    assert errors.locator("figure.chart canvas").count() == 1
    assert errors.get_by_role("img", name="Error rate over time").count() == 1
    # the note names the source the API gives (the log's error column, or its failed rows)
    with HttpBackend(ui_server[0]) as client:
        source = client.endpoint_traffic("churn-errors", "1h").error_source
    assert errors.locator(".error-source").inner_text() == f"Source: {source}"
    assert traffic.locator("figure.chart canvas").count() == 4
    assert axe_violations(page) == []


def test_traffic_charts_zoom_to_a_dragged_time_range_and_reset(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    from tests.monitoring.test_loop_helpers import write_log

    traffic = _endpoint_page(
        page, ui_server[0], "zoom", write_log, 50, n_requests=50, step_ms=60_000
    )
    whole = _x_ranges(traffic)
    assert len(whole) >= 3 and all(r == whole[0] for r in whole), whole  # 4 when errors logged
    lo, hi = whole[0]
    _drag(page, traffic.locator("figure.chart .u-over").first, 0.25, 0.5)
    traffic.get_by_role("button", name="Reset").wait_for()
    zoomed = _x_ranges(traffic)
    assert all(r == zoomed[0] for r in zoomed), zoomed  # every chart shows the same range
    zlo, zhi = zoomed[0]
    assert lo < zlo < zhi < hi, (whole[0], zoomed[0])
    assert (zhi - zlo) < 0.4 * (hi - lo)  # a quarter of the plot's width was dragged
    traffic.get_by_role("button", name="Reset").click()
    traffic.get_by_role("button", name="Reset").wait_for(state="detached")
    assert _x_ranges(traffic) == whole
    assert axe_violations(page) == []


def test_model_version_shows_its_global_explanations(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    page.goto("/models/churn/versions/1")
    settle(page)
    table = page.get_by_role("table", name="Global feature importance")
    features = table.locator("tbody tr td:first-child").all_inner_texts()
    assert sorted(features) == ["f0", "f1", "f2"]
    assert (
        "SHAP over 5 rows (the input example)"
        in page.locator(
            "section", has=page.locator("h2", has_text="Global explanations")
        ).inner_text()
    )
