"""OIDC: JWTs signed by a locally generated RSA key, its JWKS served on loopback by a real
HTTP server, verified by a token-authenticated API and mapped to Conveyor users."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

jwt = pytest.importorskip("jwt", reason="the oidc extra (PyJWT) is not installed")
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from tests.governance.conftest import HTTP, error_of  # noqa: E402

from conveyor.api import create_app  # noqa: E402
from conveyor.api.auth import ApiAuth  # noqa: E402
from conveyor.api.testing import ServerThread  # noqa: E402
from conveyor.backend import LocalBackend  # noqa: E402
from conveyor.governance.oidc import OidcVerifier  # noqa: E402


def _key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {"issuer": _key(), "stranger": _key()}


@pytest.fixture
def issuer(keys: dict[str, Any]) -> Iterator[str]:
    """An issuer on loopback: discovery document and JWKS (the issuer's public key)."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(keys["issuer"].public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            body = {
                "/.well-known/openid-configuration": json.dumps(
                    {"issuer": base, "jwks_uri": f"{base}/jwks"}
                ),
                "/jwks": jwks,
            }.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write((body or "{}").encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(sqlite_backend: LocalBackend, issuer: str) -> Iterator[str]:
    sqlite_backend.create_user("alice@example.org", "editor")
    verifier = OidcVerifier(issuer, audience="conveyor", user_claim="email", leeway_s=60)
    app = create_app(sqlite_backend, auth=ApiAuth("tokens", verifier))
    with ServerThread(app) as server:
        yield server.url


def _jwt(key: Any, issuer: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": issuer, "aud": "conveyor", "email": "alice@example.org", "iat": now}
    body["exp"] = now + 300
    body.update(claims)
    return str(jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"}))


def _whoami(url: str, token: str) -> httpx.Response:
    return HTTP.get(f"{url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})


def test_a_valid_jwt_acts_as_the_user_its_claim_names(
    api: str, issuer: str, keys: dict[str, Any]
) -> None:
    answer = _whoami(api, _jwt(keys["issuer"], issuer))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["name"], answer.json()["role"]) == ("alice@example.org", "editor")


def test_clock_skew_within_the_leeway_is_tolerated(
    api: str, issuer: str, keys: dict[str, Any]
) -> None:
    now = int(time.time())
    late = _jwt(keys["issuer"], issuer, exp=now - 30)  # expired 30 s ago: within 60 s
    early = _jwt(keys["issuer"], issuer, nbf=now + 30, iat=now + 30)  # issuer clock ahead
    assert _whoami(api, late).status_code == 200
    assert _whoami(api, early).status_code == 200
    stale = _jwt(keys["issuer"], issuer, exp=now - 120)
    assert "expired" in error_of(_whoami(api, stale), 401)["message"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"iss": "http://evil.example"}, "issuer"),
        ({"aud": "someone-else"}, "Audience"),
        ({"email": "mallory@example.org"}, "has no Conveyor user"),
        ({"email": None}, "no 'email' claim"),
    ],
)
def test_bad_claims_are_401(
    api: str, issuer: str, keys: dict[str, Any], change: dict[str, Any], says: str
) -> None:
    token = _jwt(keys["issuer"], issuer, **change)
    error = error_of(_whoami(api, token), 401)
    assert says in error["message"] and token not in error["message"]


def test_forged_signatures_and_unsigned_tokens_are_401(
    api: str, issuer: str, keys: dict[str, Any]
) -> None:
    forged = _jwt(keys["stranger"], issuer)  # same kid, another key
    assert "not valid" in error_of(_whoami(api, forged), 401)["message"]
    claims = {"iss": issuer, "aud": "conveyor", "email": "alice@example.org", "exp": 2**40}
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"})
    assert error_of(_whoami(api, unsigned), 401)["code"] == "unauthenticated"
    assert error_of(_whoami(api, "a.b.c"), 401)["code"] == "unauthenticated"


def test_the_settings_configure_the_verifier(issuer: str) -> None:
    from conveyor.api.auth import auth_from_settings
    from conveyor.config import load_settings

    settings = load_settings(
        {
            "CONVEYOR_OIDC_ISSUER": issuer,
            "CONVEYOR_OIDC_LEEWAY_S": "5",
            "CONVEYOR_OIDC_USER_CLAIM": "email",
        }
    )
    auth = auth_from_settings(settings)
    assert auth.mode == "tokens" and auth.oidc is not None
    assert (auth.oidc.leeway_s, auth.oidc.user_claim) == (5.0, "email")
    assert auth_from_settings(load_settings({})).oidc is None
