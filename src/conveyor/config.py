"""Settings: each declared once with its default and help.

Resolution order for every setting: environment variable ``CONVEYOR_<NAME>`` > the
``[conveyor]`` table of ``conveyor.toml`` in the working directory (or the file named by
``CONVEYOR_CONFIG``) > the default. ``conveyor settings`` prints the resolved values.

Usage::

    from conveyor.config import get_settings
    settings = get_settings()
    settings.db_url
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.errors import ValidationFailed

__all__ = ["SETTINGS", "Setting", "Settings", "get_settings", "reset_settings"]


def _to_bool(raw: str | bool) -> bool:
    if isinstance(raw, bool):
        return raw
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _to_days(raw: str | int) -> int:
    """A whole number of days, 0 or more (0: keep forever)."""
    days = int(raw)
    if days < 0:
        raise ValueError(f"expected a number of days >= 0, got {raw!r}")
    return days


def _to_names(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A list of names: a TOML array, or one string separated by commas or whitespace."""
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw)
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise ValueError(f"expected names separated by commas, got {raw!r}")
    return tuple(item.strip() for item in items)


@dataclass(frozen=True)
class Setting:
    """One setting: its name (``CONVEYOR_`` + upper-case name in the environment)."""

    name: str
    cast: Callable[[Any], Any]
    default: Any
    help: str

    @property
    def env_var(self) -> str:
        return "CONVEYOR_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("home", str, ".conveyor", "Folder for the embedded store: SQLite file and artifacts."),
    Setting(
        "db_url",
        str,
        "",
        "SQLAlchemy URL of the metadata store; empty means SQLite at <home>/conveyor.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    ),
    Setting(
        "artifact_uri",
        str,
        "",
        "Where artifacts live: a folder path or an fsspec URL such as s3://bucket/prefix; "
        "empty means <home>/artifacts.",
    ),
    Setting(
        "uri",
        str,
        "",
        "Tracking server URL (http://host:port). Empty means embedded mode: the SDK talks to "
        "the store directly.",
    ),
    Setting(
        "prediction_log_uri",
        str,
        "",
        "Where served predictions and feedback are logged (a folder or fsspec URL); empty "
        "means <home>/logs. Monitoring reads the same place.",
    ),
    Setting(
        "token",
        str,
        "",
        "API token sent to the server as a Bearer token; empty means the one `conveyor login` "
        "stored for the server URL in credentials_file.",
    ),
    Setting(
        "project",
        str,
        "default",
        "Project the SDK and CLI act in (sent to the server as X-Conveyor-Project); roles "
        "are granted per project.",
    ),
    Setting(
        "credentials_file",
        str,
        "",
        "Where `conveyor login` keeps tokens per server URL (mode 0600); empty means "
        "$XDG_CONFIG_HOME/conveyor/credentials.json (~/.config/conveyor/credentials.json).",
    ),
    Setting(
        "auth",
        str,
        "tokens",
        "How `conveyor server` authenticates requests: 'tokens' (API tokens, and OIDC JWTs "
        "when oidc_issuer is set) or 'insecure-local' (no authentication; the server binds "
        "and answers loopback only, every request acts as the OS user running it).",
    ),
    Setting(
        "oidc_issuer",
        str,
        "",
        "OIDC issuer URL whose JWTs `conveyor server` also accepts as bearer tokens (empty: "
        "API tokens only). Needs the oidc extra (PyJWT).",
    ),
    Setting(
        "oidc_jwks_url",
        str,
        "",
        "URL of the issuer's signing keys (JWKS); empty means the jwks_uri of "
        "<issuer>/.well-known/openid-configuration.",
    ),
    Setting("oidc_audience", str, "", "Audience (aud) a JWT must carry; empty: not checked."),
    Setting(
        "oidc_user_claim",
        str,
        "sub",
        "JWT claim holding the Conveyor user name (sub, email, preferred_username ...).",
    ),
    Setting(
        "oidc_leeway_s",
        float,
        60.0,
        "Clock skew tolerated on a JWT's exp, nbf and iat, in seconds.",
    ),
    Setting(
        "inference_keys_file",
        str,
        "",
        "JSON file of endpoint -> sha256 of its inference keys (`conveyor inference-keys "
        "create --file`), besides the keys in the store; a listed endpoint answers only "
        "Authorization: Bearer <key>. Empty: only the store's keys.",
    ),
    Setting("http_timeout", float, 60.0, "Seconds the SDK waits for a server answer."),
    Setting(
        "metric_flush_interval",
        float,
        2.0,
        "Seconds between background flushes of buffered metrics.",
    ),
    Setting(
        "metric_flush_size",
        int,
        5000,
        "Buffered metric points that trigger an early flush.",
    ),
    Setting(
        "allow_pickle",
        _to_bool,
        False,
        "Allow loading models that need pickle (custom Python models). Off by default: "
        "pickle runs arbitrary code.",
    ),
    Setting(
        "trusted_model_types",
        _to_names,
        (),
        "Extra types a skops model file may create, trusted by this machine's operator "
        "(full names like mypkg.models.MyEstimator, or mypkg.models.* for a module), "
        "comma-separated. Added to skops' defaults and Conveyor's allowlist of "
        "scikit-learn/LightGBM/XGBoost estimators and numpy/scipy arrays; a model's own "
        "list is never used. See docs/models.md#security.",
    ),
    Setting(
        "staging_max_age_s",
        float,
        86400.0,
        "Upload staging files (<artifacts>/.staging/*.part) untouched for longer than this many "
        "seconds are debris of interrupted uploads: `conveyor server` deletes them at start-up "
        "and then hourly (or every quarter of this age, if shorter), logging what it reclaimed.",
    ),
    Setting("server_host", str, "127.0.0.1", "Interface `conveyor server` binds."),
    Setting("server_port", int, 5050, "Port `conveyor server` listens on."),
    Setting(
        "max_request_mb",
        float,
        64.0,
        "Largest JSON request body the API accepts, in MiB (artifact uploads stream and are "
        "not limited by this).",
    ),
    Setting(
        "log_batch_max_mb",
        float,
        16.0,
        "Largest metric batch body (log-batch, end-run) the API accepts, in MiB.",
    ),
    Setting(
        "log_batch_large_in_flight",
        int,
        2,
        "How many metric batches over 1 MiB one server process takes at once; more answer "
        "503 with Retry-After. With log_batch_max_mb this bounds the memory batches use.",
    ),
    Setting(
        "statement_timeout_s",
        float,
        30.0,
        "Longest a single metadata-store query may run, in seconds (PostgreSQL "
        "statement_timeout; a progress-handler deadline on SQLite); past it the query is "
        "stopped and the caller gets a 503 query_timeout. 0 disables the bound.",
    ),
    Setting(
        "features_online_url",
        str,
        "",
        "Online feature store: redis://host:6379/0 (any Redis/Valkey URL) or sqlite:///path; "
        "empty means SQLite at <home>/features/online.db.",
    ),
    Setting(
        "features_online_timeout_s",
        float,
        0.5,
        "Longest an online feature read may take (connect and answer) before it fails.",
    ),
    Setting(
        "features_memory_limit",
        str,
        "1GB",
        "Memory DuckDB may use for point-in-time joins and materialization (it spills beyond).",
    ),
    Setting(
        "features_postgres_url",
        str,
        "",
        "PostgreSQL holding PostgreSQLSource tables (SQLAlchemy URL); empty means the "
        "metadata store's URL when that is PostgreSQL.",
    ),
    Setting(
        "s3_endpoint_url",
        str,
        "",
        "Endpoint of an S3-compatible store (MinIO, moto, Ceph); empty means AWS.",
    ),
    Setting(
        "retention_prediction_logs_days",
        _to_days,
        183,
        "Days served predictions and feedback are kept in the prediction log; older day "
        "partitions are deleted by the retention purge unless a legal hold covers their "
        "endpoint. Default 183 (six months, EU AI Act Art. 19); 0 keeps them forever.",
    ),
    Setting(
        "retention_reports_days",
        _to_days,
        3650,
        "Days stored reports (monitor check records) are kept before the retention purge "
        "deletes them, unless a legal hold covers their endpoint. Default 3650 (ten years, "
        "the documentation period of EU AI Act Art. 18); 0 keeps them forever.",
    ),
    Setting(
        "retention_purge_interval_s",
        float,
        86400.0,
        "Seconds between retention purges run by `conveyor server` on its background "
        "scheduler (first one an interval after start-up); 0 disables the scheduled purge "
        "(`conveyor retention purge` still works).",
    ),
    Setting(
        "explain_at_registration",
        _to_bool,
        True,
        "Compute a model version's global feature importance (mean |SHAP| over its input "
        "example) when it is registered, for tree and linear models with shap installed; "
        "stored with the version for model cards. Off: `conveyor models explain` computes it.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Resolved settings; attribute access by setting name."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.sources = dict(sources)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    @property
    def home_path(self) -> Path:
        return Path(self._values["home"]).expanduser()

    @property
    def resolved_db_url(self) -> str:
        url = self._values["db_url"]
        if url:
            return str(url)
        return f"sqlite:///{(self.home_path / 'conveyor.db').absolute()}"

    @property
    def resolved_prediction_log_uri(self) -> str:
        uri = self._values["prediction_log_uri"]
        if uri:
            return str(uri)
        return str((self.home_path / "logs").absolute())

    @property
    def resolved_artifact_uri(self) -> str:
        uri = self._values["artifact_uri"]
        if uri:
            return str(uri)
        return str((self.home_path / "artifacts").absolute())


def _file_values(env: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    path = Path(env.get("CONVEYOR_CONFIG", "conveyor.toml"))
    if not path.is_file():
        return {}, ""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed(f"{path}: not valid TOML ({exc}); fix or remove the file") from exc
    table = data.get("conveyor", {})
    unknown = sorted(set(table) - set(_BY_NAME))
    if unknown:
        raise ValidationFailed(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(_BY_NAME)}"
        )
    return table, str(path)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting from ``env`` (default ``os.environ``), the file and defaults."""
    env = os.environ if env is None else env
    from_file, file_name = _file_values(env)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        if setting.env_var in env:
            raw, source = env[setting.env_var], setting.env_var
        elif setting.name in from_file:
            raw, source = from_file[setting.name], file_name
        else:
            values[setting.name], sources[setting.name] = setting.default, "default"
            continue
        try:
            values[setting.name] = setting.cast(raw)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(
                f"{source}: bad value {raw!r} for setting {setting.name!r} ({exc}). {setting.help}"
            ) from exc
        sources[setting.name] = source
    return Settings(values, sources)


_cached: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, resolved on first use."""
    global _cached
    if _cached is None:
        _cached = load_settings()
    return _cached


def reset_settings() -> None:
    """Forget the resolved settings so the next call re-reads env and file (tests, CLI)."""
    global _cached
    _cached = None
