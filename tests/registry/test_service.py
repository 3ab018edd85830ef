"""Registry services: versions are gap-free under concurrency; aliases resolve and move."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.governance.audit import list_events
from conveyor.governance.identity import Actor
from conveyor.registry import service as registry
from conveyor.store import MetadataStore

BOB = Actor("bob")
FILES = [{"path": "conveyor-model.json", "sha256": "a" * 64, "size": 10}]


def _register(meta: MetadataStore, name: str = "churn") -> int:
    with meta.write(BOB) as uow:
        return registry.create_model_version(
            uow,
            name,
            source="runs:/r/model",
            manifest_sha256="a" * 64,
            flavor="sklearn",
            files=FILES,
        ).version


def test_versions_aliases_and_resolution(meta: MetadataStore) -> None:
    assert [_register(meta) for _ in range(3)] == [1, 2, 3]
    with meta.write(BOB) as uow:
        registry.set_alias(uow, "churn", "champion", 2)
        registry.set_alias(uow, "churn", "challenger", 3)
    with meta.read() as conn:
        assert registry.resolve_version(conn, "churn", "champion").version == 2
        assert registry.resolve_version(conn, "churn", "latest").version == 3
        assert registry.get_model(conn, "churn").aliases == {"champion": 2, "challenger": 3}
    with meta.write(BOB) as uow:
        registry.set_alias(uow, "churn", "champion", 3)  # moving an alias
    with meta.read() as conn:
        mv = registry.resolve_version(conn, "churn", "champion")
        events = list_events(conn, action="model.set_alias")
    assert mv.version == 3 and mv.aliases == ["challenger", "champion"]
    assert [e.details["previous"] for e in events] == [None, None, 2]


def test_not_found_and_invalid(meta: MetadataStore) -> None:
    _register(meta)
    with meta.read() as conn:
        with pytest.raises(NotFound, match="'ghost'"):
            registry.get_model(conn, "ghost")
        with pytest.raises(NotFound, match="no version 7"):
            registry.get_model_version(conn, "churn", 7)
        with pytest.raises(NotFound, match="no alias 'prod'"):
            registry.resolve_version(conn, "churn", "prod")
        with pytest.raises(ValidationFailed, match="positive integer"):
            registry.get_model_version(conn, "churn", 0)
    with pytest.raises(ValidationFailed, match="reserved"), meta.write(BOB) as uow:
        registry.set_alias(uow, "churn", "latest", 1)
    with pytest.raises(Conflict), meta.write(BOB) as uow:
        registry.create_model(uow, "churn")


def test_concurrent_registration_is_gap_free(meta: MetadataStore) -> None:
    _register(meta, "race")  # the model exists; 16 writers now race for numbers
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(lambda _: _register(meta, "race"), range(16)))
    assert sorted(numbers) == list(range(2, 18))


def test_concurrent_first_registration_of_a_new_model(meta: MetadataStore) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(lambda _: _register(meta, "fresh"), range(6)))
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]
    with meta.read() as conn:
        assert len(list_events(conn, action="model.create")) == 1
