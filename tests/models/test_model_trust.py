"""Code execution on model load (issue 10 item 1): the loading side decides what to trust.

Each attack replaces ``model.skops`` with a file whose node *calls* a type with arguments
from the file, lists that type in the manifest's ``trusted_types`` and fixes up the sha256s,
exactly as an attacker with write access to a run would. Every one must be refused with
nothing executed (the marker file must not appear), by ``load_model`` and by registration
over REST, and the refusal names the type and the setting that would allow it.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import skops
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import SelectKBest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conveyor.backend import LocalBackend
from conveyor.config import reset_settings
from conveyor.deployments import service as deployments
from conveyor.deployments.runtime import DeploymentServer
from conveyor.errors import NotFound, PermissionDenied, ValidationFailed
from conveyor.models import MANIFEST_NAME, load_model, save_model
from conveyor.registry import service as registry
from conveyor.registry.entities import ModelVersion


def _tuple_node(args: tuple[Any, ...]) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(sio.dumps(args))) as z:
        node = json.loads(z.read("schema.json"))
    for key in ("protocol", "_skops_version"):
        node.pop(key)
    return node


def _call_node(target: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """A skops node that calls ``target(*args)`` when loaded (a constructor node)."""
    module, _, name = target.rpartition(".")
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": _tuple_node(args),
    }


def _plant(root: Path, node: dict[str, Any], trusted: str) -> None:
    """Replace the saved model's skops file with ``node``; trust it and fix the hashes."""
    node = {**node, "protocol": 2, "_skops_version": skops.__version__}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("schema.json", json.dumps(node))
    blob = out.getvalue()
    (root / "model.skops").write_bytes(blob)
    manifest_path = root / MANIFEST_NAME
    data = json.loads(manifest_path.read_bytes())
    data["flavor_options"]["trusted_types"].append(trusted)
    for entry in data["files"]:
        if entry["path"] == "model.skops":
            entry["sha256"], entry["size"] = hashlib.sha256(blob).hexdigest(), len(blob)
    manifest_path.write_text(json.dumps(data))


def _attacks(marker: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    code = f"open({str(marker)!r}, 'w').close()"
    return {
        "timeit.timeit": ("timeit.timeit", _call_node("timeit.timeit", ("pass", code))),
        "builtins.eval": ("builtins.eval", _call_node("builtins.eval", (code,))),
        "os.system": ("os.system", _call_node("os.system", (f"touch {marker}",))),
        "subprocess.Popen": (
            "subprocess.Popen",
            _call_node("subprocess.Popen", (["touch", str(marker)],)),
        ),
        "importlib.import_module": (
            "importlib.import_module",
            _call_node("importlib.import_module", ("conveyor_evil_module",)),
        ),
        "operator.attrgetter": (
            "operator.attrgetter",
            {
                "__class__": "attrgetter",
                "__module__": "operator",
                "__loader__": "OperatorFuncNode",
                "attrs": _tuple_node(("__class__",)),
            },
        ),
        # a function of an allowed package: allowed packages are not blanket-trusted
        "numpy.save": ("numpy.save", _call_node("numpy.save", (str(marker), (1, 2)))),
        # a class of an allowed package that writes files
        "numpy.memmap": (
            "numpy.memmap",
            _call_node("numpy.memmap", (str(marker), "uint8", "w+", 0, (1,))),
        ),
    }


ATTACKS = list(_attacks(Path("x")))


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where an attack would write; also an importable module that writes it on import."""
    target = tmp_path / "pwned"
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "conveyor_evil_module.py").write_text(
        f"open({str(target)!r}, 'w').close()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    yield target
    sys.modules.pop("conveyor_evil_module", None)


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    return frame, (frame["a"] > 0).astype(int).to_numpy()


def _evil_model(root: Path, marker: Path, attack: str) -> str:
    frame, y = _data()
    save_model(LogisticRegression().fit(frame, y), root, input_example=frame.head(2))
    trusted, node = _attacks(marker)[attack]
    _plant(root, node, trusted)
    return trusted


@pytest.mark.parametrize("attack", ATTACKS)
def test_load_model_refuses_with_nothing_executed(
    attack: str, tmp_path: Path, marker: Path
) -> None:
    name = _evil_model(tmp_path / "m", marker, attack)
    with pytest.raises(PermissionDenied) as info:
        load_model(tmp_path / "m")
    assert not marker.exists() and not Path(f"{marker}.npy").exists()
    assert "conveyor_evil_module" not in sys.modules
    assert name in info.value.message and "trusted_model_types" in info.value.message
    assert info.value.details["types"] == [name]


@pytest.fixture
def server(api_server: tuple[str, LocalBackend]) -> Iterator[tuple[httpx.Client, LocalBackend]]:
    url, local = api_server
    with httpx.Client(base_url=url + "/api/v1", timeout=30) as client:
        yield client, local


def _upload_run(client: httpx.Client, root: Path) -> str:
    exp = client.post("/experiments/get-or-create", json={"name": "attack"}).json()
    run = client.post("/runs", json={"experiment_id": exp["id"]}).json()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        answer = client.put(f"/runs/{run['id']}/artifacts/model/{rel}", content=path.read_bytes())
        assert answer.status_code == 201, answer.text
    return str(run["id"])


@pytest.mark.parametrize("attack", ATTACKS)
def test_registration_over_rest_refuses_with_nothing_executed(
    attack: str, tmp_path: Path, marker: Path, server: tuple[httpx.Client, LocalBackend]
) -> None:
    client, local = server
    name = _evil_model(tmp_path / "m", marker, attack)
    run_id = _upload_run(client, tmp_path / "m")
    answer = client.post("/models/evil/versions", json={"source": f"runs:/{run_id}/model"})
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert name in error["message"] and "trusted_model_types" in error["message"]
    assert error["details"]["types"] == [name]
    assert not marker.exists() and not Path(f"{marker}.npy").exists()
    assert client.get("/models/evil/versions").status_code in (200, 404)
    assert local.search_models("evil") == []  # nothing was recorded


def test_benign_model_registers_over_rest(
    tmp_path: Path, server: tuple[httpx.Client, LocalBackend]
) -> None:
    client, _ = server
    frame, y = _data()
    save_model(RandomForestClassifier(3).fit(frame, y), tmp_path / "m", input_example=frame[:2])
    run_id = _upload_run(client, tmp_path / "m")
    answer = client.post("/models/good/versions", json={"source": f"runs:/{run_id}/model"})
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "model",
    [
        make_pipeline(StandardScaler(), SelectKBest(k=2), LogisticRegression()),
        RandomForestClassifier(3, random_state=np.random.RandomState(0)),
        HistGradientBoostingClassifier(max_iter=3),
        KNeighborsClassifier(3),
    ],
    ids=["select-k-best", "forest-randomstate", "hist-gb", "knn"],
)
def test_common_models_need_no_setting(model: Any, tmp_path: Path) -> None:
    frame, y = _data()
    save_model(model.fit(frame, y), tmp_path / "m", input_example=frame.head(2))
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(frame), model.predict(frame))


def test_the_manifest_list_is_never_used_but_the_operator_setting_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A custom type refused by default loads once the operator trusts it; listing it in
    the manifest (what the uploader controls) changes nothing."""
    from conveyor.models.trust import is_allowed

    frame, y = _data()
    save_model(LogisticRegression().fit(frame, y), tmp_path / "m", input_example=frame[:2])
    _plant(tmp_path / "m", _call_node("numpy.save", (str(tmp_path / "x"), (1,))), "numpy.save")
    with pytest.raises(PermissionDenied):
        load_model(tmp_path / "m")
    assert not is_allowed("numpy.save")
    monkeypatch.setenv("CONVEYOR_TRUSTED_MODEL_TYPES", "numpy.save")
    reset_settings()
    assert is_allowed("numpy.save") and not is_allowed("numpy.load")
    monkeypatch.setenv("CONVEYOR_TRUSTED_MODEL_TYPES", "numpy.*, os.system")
    reset_settings()
    assert is_allowed("numpy.load")
    assert not is_allowed("os.system")  # never trusted, whatever the setting says


def test_saving_a_model_that_would_not_load_is_refused(tmp_path: Path) -> None:
    frame, y = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, y)
    model.steps[0][1].callback = np.save  # a function the loader would refuse
    with pytest.raises(ValidationFailed, match=r"numpy\.save.*trusted_model_types"):
        save_model(model, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def _recorded_before_the_fix(backend: LocalBackend, root: Path) -> ModelVersion:
    """A malicious version already in the registry (registered by an older Conveyor):
    its files are uploaded and the version row written without registration's check."""
    exp = backend.get_or_create_experiment("attack")
    run = backend.create_run(exp.id)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            backend.upload_artifact(run.id, f"model/{path.relative_to(root).as_posix()}", fh)
    manifest = backend.artifact_entry(run.id, f"model/{MANIFEST_NAME}")
    files = [{**e, "path": e["path"][6:]} for e in backend.list_artifacts(run.id, "model")]
    signature = json.loads((root / MANIFEST_NAME).read_bytes())["signature"]
    with backend.meta.write(backend.actor) as uow:
        return registry.create_model_version(
            uow,
            "evil",
            source=f"runs:/{run.id}/model",
            run_id=run.id,
            manifest_sha256=manifest["sha256"],
            flavor="sklearn",
            signature=signature,
            files=files,
        )


@pytest.fixture
def local(sqlite_backend: LocalBackend) -> LocalBackend:
    return sqlite_backend


@pytest.mark.parametrize("compile", [True, False], ids=["compile", "no-compile"])
def test_deploy_refuses_an_untrusted_version(
    compile: bool, tmp_path: Path, marker: Path, local: LocalBackend
) -> None:
    _evil_model(tmp_path / "m", marker, "timeit.timeit")
    _recorded_before_the_fix(local, tmp_path / "m")
    with pytest.raises(PermissionDenied, match=r"timeit\.timeit.*trusted_model_types"):
        local.deploy("evil-api", model="evil/1", compile=compile)
    assert not marker.exists()
    with local.meta.read() as conn, pytest.raises(NotFound):
        deployments.get_deployment(conn, "evil-api")  # nothing was deployed


def test_serving_start_refuses_an_untrusted_revision(
    tmp_path: Path, marker: Path, local: LocalBackend
) -> None:
    _evil_model(tmp_path / "m", marker, "timeit.timeit")
    _recorded_before_the_fix(local, tmp_path / "m")
    with local.meta.write(local.actor) as uow:  # a revision written by an older Conveyor
        deployments.deploy(uow, "evil-api", model="evil/1")
    server = DeploymentServer(local, ["evil-api"])
    status = server.watcher.status["evil-api"]
    assert status.serving is None and "timeit.timeit" in str(status.error)
    assert "trusted_model_types" in str(status.error)
    assert not marker.exists()
