"""Settings from configs/pipeline.toml, overridable by environment variables."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "configs" / "pipeline.toml"


def _coerce(raw: str, like: Any) -> Any:
    """Turn an environment string into the type of the value it overrides."""
    if isinstance(like, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int):
        return int(raw)
    if isinstance(like, float):
        return float(raw)
    if isinstance(like, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _apply_env(sections: dict[str, dict[str, Any]], env: dict[str, str]) -> None:
    for section, values in sections.items():
        for key, value in list(values.items()):
            name = f"PIPELINE_{section}_{key}".upper()
            if name in env:
                values[key] = _coerce(env[name], value)
    for key, value in list(sections.get("urls", {}).items()):
        short = f"PIPELINE_{key}_URL".upper()
        if short in env:
            sections["urls"][key] = _coerce(env[short], value)


@dataclass(frozen=True)
class Config:
    """The settings a run uses. `sections` holds every table of the TOML file."""

    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    root: Path = REPO_ROOT

    def section(self, name: str) -> dict[str, Any]:
        return self.sections.get(name, {})

    def path(self, key: str) -> Path:
        value = Path(self.section("paths")[key])
        return value if value.is_absolute() else self.root / value

    def url(self, name: str) -> str:
        return str(self.section("urls")[name]).rstrip("/")

    @property
    def contact_email(self) -> str:
        return str(self.section("contact").get("email", ""))

    @property
    def user_agent(self) -> str:
        contact = self.section("contact")
        from pipeline import __version__

        project = contact.get("project", "covid-image-pipeline")
        return f"{project}/{__version__} (mailto:{self.contact_email})"


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the TOML file (PIPELINE_CONFIG or configs/pipeline.toml) and apply overrides."""
    env = dict(os.environ) if env is None else env
    config_path = path or Path(env.get("PIPELINE_CONFIG", DEFAULT_CONFIG))
    with open(config_path, "rb") as handle:
        sections: dict[str, dict[str, Any]] = tomllib.load(handle)
    _apply_env(sections, env)
    root = Path(env.get("PIPELINE_ROOT", REPO_ROOT))
    return Config(sections=sections, root=root)
