"""The UI against a server that needs tokens: sign-in, approvals, the model card and lineage.

A real server in tokens mode (``create_app(backend, auth="tokens")``) over a seeded store,
one user and token per role (the pattern of tests/governance/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import axe_violations, open_page, settle

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def secured_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from conveyor.api import create_app
    from conveyor.api.testing import ServerThread
    from conveyor.artifacts import ArtifactStore
    from conveyor.backend.http import HttpBackend
    from conveyor.backend.local import LocalBackend
    from conveyor.governance.roles import ROLES
    from conveyor.store import MetadataStore

    from .seed import seed

    root = tmp_path_factory.mktemp("ui-tokens")
    meta = MetadataStore(f"sqlite:///{root / 'meta.db'}")
    local = LocalBackend(meta, ArtifactStore.from_uri(str(root / "artifacts")))
    tokens: dict[str, str] = {}
    for name, role in [("root", "admin"), *((r, r) for r in ROLES)]:
        local.create_user(name, role)
        tokens[name] = local.create_token(name).token
    with ServerThread(create_app(local, auth="tokens")) as server:
        with HttpBackend(server.url, token=tokens["root"]) as client:
            data = seed(client, root)
        yield {"url": server.url, "local": local, "tokens": tokens, "data": data}
    meta.dispose()


def _sign_in(pg: Any, token: str) -> None:
    pg.get_by_label("API token").fill(token)
    pg.get_by_role("button", name="Sign in").click()


def _request(ctx: dict[str, Any], target: str, comment: str) -> str:
    from conveyor.backend.http import HttpBackend

    with HttpBackend(ctx["url"], token=ctx["tokens"]["editor"]) as editor:
        return str(editor.request_approval("churn", 1, target, comment=comment).id)


def test_sign_in_with_a_token_then_sign_out(browser: Any, secured_ui: dict[str, Any]) -> None:
    exp = secured_ui["data"]["experiment"]
    with open_page(browser, secured_ui["url"]) as pg:
        pg.goto(f"/experiments/{exp.id}")
        settle(pg)
        assert pg.locator("h1").inner_text() == "Sign in"
        assert "conveyor tokens create --user NAME" in pg.locator(".sign-in").inner_text()
        _sign_in(pg, "cvy_not-a-real-token")
        pg.locator(".sign-in .error").wait_for()
        assert "401" in pg.locator(".sign-in .error").inner_text()
        assert pg.evaluate("() => sessionStorage.getItem('conveyor.token')") is None
        _sign_in(pg, secured_ui["tokens"]["viewer"])
        pg.locator("h1", has_text="Runs of churn-ui").wait_for()
        settle(pg)
        assert pg.locator("table tbody tr").count() > 0
        assert "viewer (viewer in default)" in pg.locator(".who").inner_text()
        token = pg.evaluate("() => sessionStorage.getItem('conveyor.token')")
        assert token == secured_ui["tokens"]["viewer"]
        pg.reload()  # the token outlives a reload of the tab
        settle(pg)
        assert pg.locator("h1").inner_text() == "Runs of churn-ui"
        pg.get_by_role("button", name="Sign out").click()
        assert pg.locator("h1").inner_text() == "Sign in"
        assert pg.evaluate("() => sessionStorage.getItem('conveyor.token')") is None


def test_a_viewer_sees_why_it_cannot_approve(browser: Any, secured_ui: dict[str, Any]) -> None:
    approval = _request(secured_ui, "alias:staging", "viewer test")
    with open_page(browser, secured_ui["url"]) as pg:
        pg.goto("/models/churn/versions/1")
        _sign_in(pg, secured_ui["tokens"]["viewer"])
        item = pg.locator(f'[data-approval="{approval}"]')
        item.locator(".may-not").wait_for()
        assert "the approval policy for alias:staging lets role(s) approver, admin" in (
            item.locator(".may-not").inner_text()
        )
        assert item.get_by_role("button", name="Approve").count() == 0
        assert pg.get_by_text("Request an approval").count() == 0  # viewers cannot request
        assert pg.get_by_text("Edit the card's fields").count() == 0
    assert secured_ui["local"].get_approval(approval).status == "pending"


def test_an_editor_requests_an_approval_and_edits_the_card(
    browser: Any, secured_ui: dict[str, Any]
) -> None:
    with open_page(browser, secured_ui["url"]) as pg:
        pg.goto("/models/churn/versions/1")
        _sign_in(pg, secured_ui["tokens"]["editor"])
        pg.locator("h1", has_text="churn v1").wait_for()
        settle(pg)
        pg.get_by_text("Request an approval").click()
        pg.get_by_label("Target (alias:<name> or deployment:<endpoint>)").fill("alias:canary")
        pg.get_by_label("Why (for the approver)").fill("better recall on segment B")
        pg.get_by_role("button", name="Request approval").click()
        item = pg.locator("article.approval", has_text="alias:canary")
        item.wait_for()
        # the editor requested it: separation of duties, said before any click
        assert "separation of duties" in item.locator(".may-not").inner_text()
        pg.get_by_text("Edit the card's fields").click()
        pg.get_by_label("Limitations (one per line)").fill("not for B2B\nlabels lag a week")
        pg.get_by_label("Overview").fill("Churn risk of retail customers.")
        pg.get_by_role("button", name="Save the card's fields").click()
        pg.get_by_role("status").filter(has_text="Saved.").wait_for()
        card = pg.locator("section", has=pg.locator("h2", has_text="Model card"))
        card.get_by_text("not for B2B; labels lag a week").wait_for()
        assert "Churn risk of retail customers." in card.inner_text()
        assert axe_violations(pg) == []
    local = secured_ui["local"]
    asked = [a for a in local.list_approvals(model="churn") if a.target == "alias:canary"]
    assert [(a.requested_by, a.comment) for a in asked] == [
        ("editor", "better recall on segment B")
    ]
    fields = local.get_model_card("churn", 1)["considerations"]["limitations"]
    assert [f["description"] for f in fields] == ["not for B2B", "labels lag a week"]


def test_an_approver_approves_a_pending_request(browser: Any, secured_ui: dict[str, Any]) -> None:
    approval = _request(secured_ui, "alias:prod", "ready for prod")
    with open_page(browser, secured_ui["url"]) as pg:
        pg.goto("/")
        _sign_in(pg, secured_ui["tokens"]["approver"])
        settle(pg)
        waiting = pg.locator("section", has=pg.locator("h2", has_text="Versions awaiting approval"))
        assert "churn v1" in waiting.inner_text()
        waiting.get_by_role("link", name="churn v1").first.click()
        item = pg.locator(f'[data-approval="{approval}"]')
        assert "ready for prod" in item.inner_text()
        item.get_by_label("Comment (why; required)").fill("validated on the holdout")
        item.get_by_role("button", name="Approve").click()
        item.locator("li", has_text="approved by approver").wait_for()
        assert "validated on the holdout" in item.inner_text()
        assert item.get_by_role("button", name="Approve").count() == 0
    decided = secured_ui["local"].get_approval(approval)
    assert (decided.status, decided.decided_by) == ("approved", "approver")
    assert decided.decision_comment == "validated on the holdout"


def test_model_card_and_lineage_render_accessibly(browser: Any, secured_ui: dict[str, Any]) -> None:
    run = secured_ui["data"]["model"].run_id
    with open_page(browser, secured_ui["url"]) as pg:
        pg.goto("/models/churn/versions/1")
        _sign_in(pg, secured_ui["tokens"]["viewer"])
        pg.locator("h1", has_text="churn v1").wait_for()
        settle(pg)
        card = pg.locator("section", has=pg.locator("h2", has_text="Model card"))
        for heading in ("Model details", "Model parameters", "Performance", "Considerations"):
            assert card.locator("h3", has_text=heading).count() == 1, heading
        assert card.get_by_role("table", name="Performance metrics").count() == 1
        graph = pg.locator("svg.lineage")
        assert graph.locator('[data-node="model:churn/1"]').count() == 1
        assert graph.locator(f'[data-node="run:{run}"] a').get_attribute("href") == f"/runs/{run}"
        assert pg.locator(".error").count() == 0
        assert axe_violations(pg) == []
        graph.locator(f'[data-node="run:{run}"] a').click()
        pg.locator("h1", has_text="Run run-00").wait_for()
        settle(pg)
        assert pg.locator("svg.lineage").count() == 1  # the run's page draws its lineage too


def test_artifact_previews_send_the_token(browser: Any, secured_ui: dict[str, Any]) -> None:
    run = secured_ui["data"]["model"].run_id
    with open_page(browser, secured_ui["url"]) as pg:
        pg.goto(f"/runs/{run}?tab=artifacts&path=notes.txt")
        _sign_in(pg, secured_ui["tokens"]["viewer"])
        pg.get_by_text("trained on churn-train v1").wait_for()
        pg.goto(f"/runs/{run}?tab=artifacts&path=plots/roc.png")
        image = pg.locator("img.preview")
        image.wait_for()
        assert image.get_attribute("src").startswith("blob:")
        pg.wait_for_function("() => document.querySelector('img.preview').naturalWidth > 0")


def test_a_user_whose_only_role_is_in_another_project_finds_it_in_the_switcher(
    browser: Any, secured_ui: dict[str, Any]
) -> None:
    from conveyor.backend.http import HttpBackend

    url, tokens = secured_ui["url"], secured_ui["tokens"]
    with HttpBackend(url, token=tokens["root"]) as root:
        root.create_project("ops-ui", "the ops team's project")
    with HttpBackend(url, token=tokens["root"], project="ops-ui") as root_ops:
        root_ops.create_user("dora", "editor")  # her only role
        dora = root_ops.create_token("dora").token
        root_ops.create_experiment("ops-model")
    with open_page(browser, url) as pg:
        pg.goto("/experiments")
        settle(pg)
        _sign_in(pg, dora)
        pg.locator(".error").first.wait_for()
        settle(pg)
        assert "no role in project 'default'" in pg.locator("main").inner_text()
        switch = pg.get_by_label("Project")
        assert sorted(switch.locator("option").all_inner_texts()) == ["default", "ops-ui (editor)"]
        switch.select_option("ops-ui")
        settle(pg)
        assert pg.url.endswith("/experiments?project=ops-ui")
        assert "ops-model" in pg.get_by_role("table", name="Experiments").inner_text()
