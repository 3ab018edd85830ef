"""Every setting is documented in docs/settings.md, with its environment variable."""

from __future__ import annotations

from pathlib import Path

from conveyor.config import SETTINGS, load_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in text or s.env_var not in text]
    assert missing == [], f"document these settings in docs/settings.md: {missing}"


def test_env_overrides_file_overrides_default(tmp_path: Path) -> None:
    (tmp_path / "conveyor.toml").write_text('[conveyor]\nserver_port = 6000\nhome = "/srv/c"\n')
    env = {"CONVEYOR_CONFIG": str(tmp_path / "conveyor.toml"), "CONVEYOR_SERVER_PORT": "7000"}
    settings = load_settings(env)
    assert (
        settings.server_port == 7000 and settings.sources["server_port"] == "CONVEYOR_SERVER_PORT"
    )
    assert settings.home == "/srv/c" and settings.sources["home"].endswith("conveyor.toml")
    assert settings.http_timeout == 60.0 and settings.sources["http_timeout"] == "default"
    assert settings.resolved_prediction_log_uri == "/srv/c/logs"
