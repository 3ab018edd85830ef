"""Every page of the UI renders in Chromium over a real server, with no console error and no
serious accessibility violation (axe-core); unknown ids name what was asked for."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import axe_violations, settle

pytestmark = pytest.mark.server


def _pages(data: dict[str, Any]) -> list[tuple[str, str]]:
    run = data["runs"][0]
    exp = data["experiment"]
    ids = ",".join(r.id for r in data["runs"][:3])
    return [
        ("/", "Overview"),
        ("/experiments", "Experiments"),
        (f"/experiments/{exp.id}", "Runs of churn-ui"),
        (f"/runs/{run.id}", "Run run-00"),
        (f"/runs/{run.id}?tab=metrics", "Run run-00"),
        (f"/runs/{run.id}?tab=artifacts&path=notes.txt", "Run run-00"),
        (f"/compare?runs={ids}", "Compare 3 runs"),
        ("/datasets", "Datasets"),
        ("/datasets/churn-train", "Dataset churn-train"),
        ("/datasets/churn-train/versions/2?against=1", "churn-train v2"),
        ("/models", "Models"),
        ("/models/churn", "Model churn"),
        ("/models/churn/versions/1", "churn v1"),
        ("/endpoints", "Endpoints"),
        ("/endpoints/churn", "Endpoint churn"),
        ("/monitoring", "Monitoring"),
        ("/monitors/churn-drift", "Monitor churn-drift"),
        ("/pipelines", "Pipelines"),
        ("/audit", "Audit log"),
    ]


def test_every_page_renders_accessibly(page: Any, ui_server: tuple[str, dict[str, Any]]) -> None:
    problems: dict[str, Any] = {}
    for path, heading in _pages(ui_server[1]):
        page.goto(path)
        settle(page)
        assert page.locator("h1").first.inner_text() == heading, path
        assert page.locator(".error").count() == 0, (path, page.locator(".error").all_inner_texts())
        assert "Traceback" not in page.content()
        assert page.title() == f"{heading} · Conveyor", path
        found = axe_violations(page)
        if found:
            problems[path] = found
    assert not problems, f"serious/critical accessibility violations: {problems}"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/runs/0123456789abcdef", "0123456789abcdef"),
        ("/experiments/no-such-experiment", "no-such-experiment"),
        ("/models/ghost-model", "ghost-model"),
        ("/models/churn/versions/99", "99"),
        ("/datasets/ghost-data", "ghost-data"),
        ("/endpoints/ghost-endpoint", "ghost-endpoint"),
        ("/pipelines/runs/ghost-run", "ghost-run"),
        ("/compare?runs=ghost-a,ghost-b", "ghost-a"),
        ("/no/such/page", "/no/such/page"),
    ],
)
def test_unknown_ids_show_a_not_found_page_naming_them(page: Any, path: str, named: str) -> None:
    page.goto(path)
    settle(page)
    box = page.locator(".not-found")
    assert box.locator("h1").inner_text() == "Not found"
    assert named in box.inner_text()
    assert "Traceback" not in page.content()


def test_dark_and_light_follow_the_system(
    browser: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme, base_url=ui_server[0])
        pg = context.new_page()
        pg.goto("/experiments")
        settle(pg)
        colours[scheme] = pg.evaluate("getComputedStyle(document.body).backgroundColor")
        if scheme == "dark":
            assert axe_violations(pg) == []
        context.close()
    assert colours["light"] == "rgb(255, 255, 255)"
    assert colours["dark"] != colours["light"]


def test_times_are_local_with_utc_on_hover(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    page.goto(f"/runs/{ui_server[1]['runs'][0].id}")
    settle(page)
    stamp = page.locator("time").first
    assert stamp.get_attribute("title").endswith(" UTC")
    assert stamp.get_attribute("datetime").endswith("Z")


def test_run_page_charts_and_artifact_previews(
    page: Any, ui_server: tuple[str, dict[str, Any]]
) -> None:
    run = ui_server[1]["runs"][0]
    page.goto(f"/runs/{run.id}")
    settle(page)
    assert "churn-train v1" in page.locator("section", has_text="Input datasets").inner_text()
    page.get_by_role("link", name="Charts (3)").click()
    settle(page)
    # uPlot draws its canvas in an effect after the figure renders: await it, not the frame
    page.wait_for_function("() => document.querySelectorAll('figure.chart canvas').length === 3")
    page.get_by_role("radio", name="time").check()
    settle(page)
    assert "x=time" in page.url
    page.get_by_role("link", name="Artifacts").click()
    settle(page)
    previews = {
        "notes.txt": "pre.preview",
        "report/metrics.csv": "table[aria-label='preview of report/metrics.csv']",
        "report/summary.html": "iframe.preview",
        "plots/roc.png": "img.preview",
    }
    for path, selector in previews.items():
        page.get_by_role("link", name=path, exact=True).click()
        # await the preview itself: networkidle can miss its event around a srcdoc iframe
        page.locator(selector).wait_for()
        assert page.locator(selector).count() == 1, path
    assert "trained on" not in page.locator(".viewer").inner_text()  # the last one: an image
    page.go_back()
    page.locator("iframe.preview").wait_for()  # back restores the previous preview
    assert page.locator("iframe.preview").count() == 1
