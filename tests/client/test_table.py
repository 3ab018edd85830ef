"""The operation table is consistent: each op's path names its parameters, the generated
router serves every generated op at its method and path, and both transports are the
same class (one surface by construction)."""

from __future__ import annotations

import inspect

from conveyor.api import create_app
from conveyor.api._operations import operations
from conveyor.backend import HttpBackend, LocalBackend
from conveyor.client import Client, Op


def test_every_path_parameter_is_a_parameter_of_the_service() -> None:
    for op in operations(Client):
        params = op.signature.parameters
        assert set(op.path_params) <= set(params), op
        assert all(p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params.values()), op
        assert op.tx in ("read", "write", "stores"), op
        first = next(iter(inspect.signature(op.fn).parameters))
        assert first in ("conn", "uow", "stores"), (op, first)


def test_every_operation_is_in_the_openapi_document() -> None:
    doc = create_app().openapi()
    served = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    for op in operations(Client):
        path = "/api/v1" + op.path.replace(":path}", "}")
        assert (op.method, path) in served, op


def test_both_transports_share_the_table() -> None:
    for cls in (LocalBackend, HttpBackend):
        own = {n for n, v in vars(cls).items() if isinstance(v, Op)}
        assert own == set(), f"{cls.__name__} declares operations of its own: {own}"
        assert issubclass(cls, Client)


def test_op_names_are_unique_and_match_attributes() -> None:
    ops = operations(Client)
    assert len({op.name for op in ops}) == len(ops)
    for op in ops:
        assert getattr(Client, op.name) is op
