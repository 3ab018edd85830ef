"""One path rule for every artifact write (issue 10 item 9): NUL bytes, drive letters,
backslashes, invalid or overlong UTF-8 and overlong names are refused with the rule."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest

from conveyor.artifacts.paths import PATH_RULE, check_relative_path
from conveyor.backend import LocalBackend
from conveyor.errors import ValidationFailed

BAD = {
    "nul": ("model/a\x00b.bin", "NUL"),
    "drive-backslash": ("C:\\win", "backslash"),
    "drive-slash": ("C:/win/system.ini", "drive letter"),
    "drive-only": ("c:", "drive letter"),
    "backslash": ("model\\weights.bin", "backslash"),
    "dotdot": ("model/../../etc/passwd", "'..'"),
    "absolute": ("/etc/passwd", "absolute"),
    "surrogate": ("model/\udcc0\udcaf", "not valid UTF-8"),
    "replacement": ("model/\ufffd\ufffd", "not valid UTF-8"),
    "control": ("model/a\x1bb", "control character"),
    "long-name": ("model/" + "a" * 256, "bytes long"),
    "long-path": ("/".join(["abcdefgh"] * 120), "bytes long"),
    "empty": ("./", "empty"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_paths_are_refused_with_the_rule(case: str) -> None:
    path, problem = BAD[case]
    with pytest.raises(ValidationFailed) as info:
        check_relative_path(path)
    assert problem in info.value.message and PATH_RULE in info.value.message
    assert info.value.details["rule"] == PATH_RULE


def test_good_paths_are_normalised() -> None:
    assert check_relative_path("model/./weights.bin") == "model/weights.bin"
    assert check_relative_path("a//b/") == "a/b"
    assert check_relative_path("données/modèle.bin") == "données/modèle.bin"
    assert check_relative_path("a" * 255) == "a" * 255


def test_the_service_refuses_before_storing(sqlite_backend: LocalBackend) -> None:
    backend = sqlite_backend
    run = backend.create_run(backend.get_or_create_experiment("e").id)
    for path, _ in BAD.values():
        with pytest.raises(ValidationFailed, match="relative POSIX paths"):
            backend.upload_artifact(run.id, path, io.BytesIO(b"x"))
    assert backend.list_artifacts(run.id) == []


@pytest.fixture
def api(api_server: tuple[str, LocalBackend]) -> Iterator[tuple[httpx.Client, LocalBackend]]:
    url, local = api_server
    with httpx.Client(base_url=url + "/api/v1", timeout=30) as c:
        yield c, local


@pytest.mark.parametrize(
    "raw",
    ["model/a%00b", "C:%5Cwin", "C:/win", "model%5Cweights.bin", "model/%C0%AFetc", "m/%FF",
     "model/" + "a" * 300],
)  # fmt: skip
def test_rest_refuses_bad_paths_with_the_rule(
    raw: str, api: tuple[httpx.Client, LocalBackend]
) -> None:
    client, local = api
    exp = client.post("/experiments/get-or-create", json={"name": "e"}).json()
    run = client.post("/runs", json={"experiment_id": exp["id"]}).json()
    answer = client.put(f"/runs/{run['id']}/artifacts/{raw}", content=b"x")
    assert answer.status_code == 422, answer.text
    assert "relative POSIX paths" in answer.json()["error"]["message"]
    assert local.list_artifacts(run["id"]) == []
