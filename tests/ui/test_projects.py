"""The header's project switcher in Chromium: two projects with their own experiments and
runs; the choice is URL state (`?project=NAME`) sent as X-Conveyor-Project on every call."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import axe_violations, open_page, settle

pytestmark = pytest.mark.server

PROJECT = "fraud-ui"


def _seed_other_project(url: str) -> None:
    from conveyor.backend.http import HttpBackend

    with HttpBackend(url) as client:
        client.create_project(PROJECT, "the fraud team's project")
    with HttpBackend(url, project=PROJECT) as fraud:
        exp = fraud.create_experiment("fraud-model")
        for i in range(3):
            run = fraud.create_run(exp.id, name=f"fraud-run-{i}")
            fraud.end_run(run.id, "FINISHED")


def _rows(page: Any, table: str) -> str:
    return str(page.get_by_role("table", name=table).locator("tbody").inner_text())


def _runs(page: Any) -> list[str]:
    return sorted(
        page.locator("table[aria-label='Runs'] tbody tr td:nth-child(2)").all_inner_texts()
    )


def test_switching_project_shows_its_runs_and_the_url_keeps_it(
    page: Any, browser: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    _seed_other_project(ui_server[0])
    page.goto("/experiments")
    settle(page)
    assert "churn-ui" in _rows(page, "Experiments")
    assert "fraud-model" not in _rows(page, "Experiments")
    switch = page.get_by_label("Project")
    assert switch.input_value() == "default"
    assert sorted(switch.locator("option").all_inner_texts()) == ["default", PROJECT]
    with page.expect_request(lambda r: r.url.endswith("/api/v1/experiments")) as sent:
        switch.select_option(PROJECT)
    assert sent.value.headers.get("x-conveyor-project") == PROJECT
    settle(page)
    assert page.url.endswith(f"/experiments?project={PROJECT}")
    assert "fraud-model" in _rows(page, "Experiments")
    assert "churn-ui" not in _rows(page, "Experiments")
    # a link inside the app stays in the project, also opened in a new tab
    link = page.get_by_role("link", name="fraud-model")
    with page.context.expect_page() as tab:
        link.click(button="middle")
    assert f"project={PROJECT}" in tab.value.url
    tab.value.close()
    # the experiment's runs are the other project's
    link.click()
    settle(page)
    assert f"project={PROJECT}" in page.url
    assert _runs(page) == ["fraud-run-0", "fraud-run-1", "fraud-run-2"]
    assert switch.input_value() == PROJECT
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="light")
    deep = page.url
    # back and forward move between the projects' views
    page.go_back()
    settle(page)
    assert "fraud-model" in _rows(page, "Experiments")
    page.go_back()
    settle(page)
    assert page.url.endswith("/experiments")
    assert "churn-ui" in _rows(page, "Experiments") and switch.input_value() == "default"
    page.go_forward()
    page.go_forward()
    settle(page)
    assert _runs(page) == ["fraud-run-0", "fraud-run-1", "fraud-run-2"]
    # the header's links too; once back in the default project they no longer name the other
    header = page.get_by_role("navigation", name="Sections")
    header.get_by_role("link", name="Experiments").click()
    settle(page)
    assert page.url.endswith(f"/experiments?project={PROJECT}")
    for _ in range(3):
        page.go_back()
    settle(page)
    assert page.url.endswith("/experiments")
    header.get_by_role("link", name="Experiments").click()
    settle(page)
    assert PROJECT not in page.url and "churn-ui" in _rows(page, "Experiments")
    # the URL alone reproduces the view, in a fresh tab
    with open_page(browser, ui_server[0]) as fresh:
        fresh.goto(deep)
        settle(fresh)
        assert _runs(fresh) == ["fraud-run-0", "fraud-run-1", "fraud-run-2"]
        assert fresh.get_by_label("Project").input_value() == PROJECT


def test_an_unknown_project_in_the_url_says_so_and_offers_the_default(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    page.goto("/experiments?project=no-such-project")
    settle(page)
    assert "no-such-project" in page.get_by_role("alert").inner_text()
    switch = page.get_by_label("Project")
    assert switch.input_value() == "no-such-project"
    switch.select_option("default")
    settle(page)
    assert page.url.endswith("/experiments?project=default")
    assert "churn-ui" in _rows(page, "Experiments")
