"""The runs table's interactions in Chromium: sort, filter (and the parser's message), column
picker, pagination, keyboard, compare, deep links and back/forward."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import pytest

from .conftest import settle

pytestmark = pytest.mark.server


def _runs_page(page: Any, ui_server: tuple[str, dict[str, Any]], query: str = "") -> None:
    page.goto(f"/experiments/{ui_server[1]['experiment'].id}{query}")
    settle(page)


def _names(page: Any) -> list[str]:
    return page.locator("table[aria-label='Runs'] tbody tr td:nth-child(2)").all_inner_texts()


def _column(page: Any, label: str) -> list[str]:
    headers = page.locator("table[aria-label='Runs'] thead th").all_inner_texts()
    index = next(i for i, h in enumerate(headers) if h.strip().rstrip("▲▼ ").strip() == label) + 1
    return page.locator(
        f"table[aria-label='Runs'] tbody tr td:nth-child({index})"
    ).all_inner_texts()


def test_sort_by_metric_then_back(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    _runs_page(page, ui_server)
    assert _names(page)[0] == "run-23"  # newest first
    page.get_by_role("button", name="accuracy").click()
    settle(page)
    assert "metrics.accuracy DESC" in unquote_plus(page.url)
    values = [float(v) for v in _column(page, "accuracy")]
    assert values == sorted(values, reverse=True)
    page.get_by_role("button", name="accuracy").click()  # again: ascending
    settle(page)
    values = [float(v) for v in _column(page, "accuracy")]
    assert values == sorted(values)
    assert page.locator("th[aria-sort='ascending']").count() == 1
    page.go_back()
    settle(page)
    values = [float(v) for v in _column(page, "accuracy")]
    assert values == sorted(values, reverse=True)
    page.go_back()
    settle(page)
    assert _names(page)[0] == "run-23"


def test_filter_deep_link_and_invalid_expression(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    _runs_page(page, ui_server)
    page.get_by_role("searchbox", name="Filter").fill(
        "params.model = 'forest' and metrics.accuracy > 0.6"
    )
    page.get_by_role("searchbox", name="Filter").press("Enter")
    settle(page)
    names = _names(page)
    assert names and all(int(n.split("-")[1]) % 2 == 0 and int(n.split("-")[1]) > 10 for n in names)
    deep = page.url
    page.goto("/")
    page.goto(deep)  # the URL reproduces the view
    settle(page)
    assert _names(page) == names
    assert page.get_by_role("searchbox", name="Filter").input_value().startswith("params.model")
    page.get_by_role("searchbox", name="Filter").fill("metrics.auc >> 3")
    page.get_by_role("searchbox", name="Filter").press("Enter")
    settle(page)
    alert = page.locator("#filter-error")
    assert "expected a number or a quoted string" in alert.inner_text()
    caret = alert.locator("pre").inner_text().splitlines()
    assert caret[0] == "metrics.auc >> 3" and caret[1] == " " * 13 + "^"
    assert page.get_by_role("searchbox", name="Filter").get_attribute("aria-invalid") == "true"
    page.go_back()
    page.locator("#filter-error").wait_for(state="detached")
    settle(page)
    assert _names(page) == names


def test_pages_and_column_picker(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    _runs_page(page, ui_server, "?order=attributes.run_name%20ASC")
    assert _names(page)[0] == "run-00"
    assert "runs 1\u201324" in page.locator(".pager").inner_text()
    page.locator(".picker summary").click()
    page.get_by_label("param depth").uncheck()
    settle(page)
    headers = page.locator("table[aria-label='Runs'] thead th").all_inner_texts()
    assert not any("param depth" in h for h in headers)
    assert "cols=" in page.url
    page.get_by_label("tag team").check()
    settle(page)
    assert set(_column(page, "tag team")) == {"growth"}


def test_keyboard_on_tables(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    _runs_page(page, ui_server, "?order=attributes.run_name%20ASC")
    rows = page.locator("table[aria-label='Runs'] tbody tr")
    rows.nth(0).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.rowIndex") == 3  # header row is 0
    page.keyboard.press("Space")  # toggles the row's checkbox
    assert rows.nth(2).locator("input[type=checkbox]").is_checked()
    page.keyboard.press("Enter")
    settle(page)
    assert page.locator("h1").inner_text() == "Run run-02"
    page.go_back()
    settle(page)
    assert page.locator("h1").inner_text() == "Runs of churn-ui"


def test_compare_selected_runs(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    _runs_page(page, ui_server, "?order=attributes.run_name%20ASC")
    for name in ("run-00", "run-01", "run-05"):
        page.get_by_label(f"select run {name}").check()
    page.get_by_role("button", name="Compare 3 runs").click()
    settle(page)
    assert page.locator("h1").inner_text() == "Compare 3 runs"
    diff = page.locator("table[aria-label='Param diff']")
    assert diff.locator("tr.differs").count() == 3  # depth, lr, model all differ
    assert page.locator("svg.parallel polyline").count() == 3
    assert page.locator("figure.chart canvas").count() == 1  # the overlay of one metric
    page.get_by_label("Metric").select_option("loss")
    settle(page)
    assert "metric=loss" in page.url
    assert page.locator("figure.chart[aria-label='loss of 3 runs']").count() == 1
    page.go_back()
    settle(page)
    assert page.locator("h1").inner_text() == "Runs of churn-ui"
