"""MLflow's REST API on a token-authenticated server obeys the same role table as /api/v1
and answers in MLflow's error shape (what the stock client shows)."""

from __future__ import annotations

import httpx
from tests.governance.conftest import Secured

CREATE = "/api/2.0/mlflow/experiments/create"
SEARCH = "/api/2.0/mlflow/experiments/search"


def _post(secured: Secured, path: str, who: str | None, body: dict[str, object]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secured.tokens[who]}"} if who else {}
    return httpx.post(secured.url + path, json=body, headers=headers, timeout=30)


def test_mlflow_routes_need_a_token_and_the_role(secured: Secured) -> None:
    anonymous = _post(secured, CREATE, None, {"name": "ml-a"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error_code"] == "UNAUTHENTICATED"
    viewer = _post(secured, CREATE, "viewer", {"name": "ml-a"})
    assert viewer.status_code == 403
    assert viewer.json()["error_code"] == "PERMISSION_DENIED"
    assert "runs:write" in viewer.json()["message"]
    assert _post(secured, SEARCH, "viewer", {"max_results": 10}).status_code == 200
    with secured.local.meta.read() as conn:  # the refusals changed nothing
        from conveyor.tracking import service as tracking

        assert "ml-a" not in {e.name for e in tracking.list_experiments(conn)}
    made = _post(secured, CREATE, "editor", {"name": "ml-a"})
    assert made.status_code == 200 and made.json()["experiment_id"]
