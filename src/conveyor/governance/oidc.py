"""OIDC bearer tokens: a JWT signed by the configured issuer, mapped to a Conveyor user.

The issuer's keys come from its JWKS (``oidc_jwks_url``, else the ``jwks_uri`` of
``<issuer>/.well-known/openid-configuration``), fetched and cached by PyJWT. A token must
be signed by one of them (RS256/ES256; ``none`` and HMAC are never accepted), name the
issuer (``iss``), carry ``exp``, and match ``oidc_audience`` when set; ``exp``/``nbf``/``iat``
are checked with ``oidc_leeway_s`` seconds of clock skew. The claim ``oidc_user_claim``
(default ``sub``) names the Conveyor user, whose roles then apply. Needs the ``oidc`` extra
(``pip install conveyor[oidc]``: PyJWT with cryptography).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

from conveyor.errors import StoreUnavailable, Unauthenticated, ValidationFailed

__all__ = ["ALGORITHMS", "OidcVerifier"]

ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")


class OidcVerifier:
    """Verifies JWTs of one issuer and returns the user they name."""

    def __init__(
        self,
        issuer: str,
        *,
        jwks_url: str = "",
        audience: str = "",
        user_claim: str = "sub",
        leeway_s: float = 60.0,
        timeout: float = 10.0,
    ) -> None:
        if not issuer.startswith(("https://", "http://")):
            raise ValidationFailed(f"oidc_issuer must be an http(s) URL, got {issuer!r}")
        if leeway_s < 0:
            raise ValidationFailed(f"oidc_leeway_s must be ≥ 0, got {leeway_s}")
        self.issuer = issuer
        self.audience = audience
        self.user_claim = user_claim
        self.leeway_s = float(leeway_s)
        self.timeout = timeout
        self._jwks_url = jwks_url
        self._client: Any = None
        self._lock = threading.Lock()

    @staticmethod
    def looks_like_jwt(token: str) -> bool:
        return token.count(".") == 2 and not token.startswith("cvy_")

    def _jwks(self) -> Any:
        with self._lock:
            if self._client is None:
                import jwt

                url = self._jwks_url or self._discover()
                self._client = jwt.PyJWKClient(url, cache_keys=True, timeout=int(self.timeout))
            return self._client

    def _discover(self) -> str:
        where = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(where, timeout=self.timeout) as answer:
                return str(json.load(answer)["jwks_uri"])
        except (OSError, ValueError, KeyError) as exc:
            raise StoreUnavailable(
                f"cannot read the OIDC discovery document at {where} ({type(exc).__name__}); "
                "set oidc_jwks_url or check oidc_issuer"
            ) from None

    def user_of(self, token: str) -> str:
        """The user name the token's ``user_claim`` holds; Unauthenticated if it is invalid."""
        import jwt

        try:
            key = self._jwks().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise StoreUnavailable(
                "cannot fetch the OIDC issuer's keys (JWKS); check oidc_jwks_url"
            ) from None
        except jwt.PyJWKClientError as exc:
            raise Unauthenticated(f"the identity token's key is unknown ({exc})") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("the identity token is malformed") from None
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                audience=self.audience or None,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss"], "verify_aud": bool(self.audience)},
            )
        except jwt.InvalidTokenError as exc:
            # PyJWT's messages name the failed check (expiry, issuer, audience, signature)
            raise Unauthenticated(f"the identity token is not valid: {exc}") from None
        name = claims.get(self.user_claim)
        if not isinstance(name, str) or not name:
            raise Unauthenticated(f"the identity token has no {self.user_claim!r} claim")
        return name
