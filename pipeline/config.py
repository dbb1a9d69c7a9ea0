"""Settings from configs/pipeline.toml, overridable by environment variables.

Each table of the file is a typed section below, with its defaults in one place (the
dataclass). A key the file names but no section knows is an error, so a typo does not
silently fall back to a default. `PIPELINE_<SECTION>_<KEY>` overrides any value (lists are
comma-separated), and base URLs also `PIPELINE_<NAME>_URL`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pipeline.errors import PipelineError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "configs" / "pipeline.toml"

S = TypeVar("S")


class ConfigError(PipelineError):
    """A settings file or environment value the pipeline cannot use."""


@dataclass(frozen=True)
class ContactSettings:
    # Sent in the User-Agent (and as mailto to Crossref's polite pool).
    email: str = "covid-image-curators@example.org"
    project: str = "covid-image-pipeline"


@dataclass(frozen=True)
class PathSettings:
    # Relative paths are relative to the repository root (Config.root).
    extracted: str = "extracted"
    metadata: str = "metadata"
    staging_db: str = "metadata/staging.sqlite"
    dataset_csv: str = "metadata/metadata.csv"
    dataset_images: str = "metadata/images"


@dataclass(frozen=True)
class ExtractionSettings:
    """Budgets: an input that needs more is refused with a reason naming the key
    (pipeline/budgets.py applies them)."""

    # Images over this many megapixels are not decoded (decompression bombs).
    max_megapixels: float = 150.0
    # Decoded bytes of one image held in memory at once (450 MB: RGB at the megapixel cap).
    # Over it an image is not decoded (flagged too-large), unless it can be written without
    # decoding (an original JPEG kept as it is, Flate samples streamed).
    max_image_mb: float = 450.0
    # Walking a PDF's content streams, forms, patterns and soft masks expanded: a PDF that
    # draws, scans or decodes more is refused whole, as hostile or broken.
    max_images_per_document: int = 2_000  # distinct images, each decoded and written
    max_draws_per_page: int = 100_000
    max_draws_per_document: int = 1_000_000
    max_operators_per_page: int = 5_000_000  # the q Q cm Do gs scn BI the walk scans
    max_operators_per_document: int = 20_000_000
    max_stream_mb_per_page: float = 256.0  # decoded content streams
    max_stream_mb_per_document: float = 1024.0

    @property
    def max_image_bytes(self) -> int:
        return int(self.max_image_mb * 1024 * 1024)


@dataclass(frozen=True)
class ClassifySettings:
    # A staged X-ray or CT image below this confidence is flagged `low confidence`.
    low_confidence: float = 0.6


@dataclass(frozen=True)
class TextmetaSettings:
    # The clock a proposed `offset` takes: "stated", "onset" or "admission" (pipeline.textmeta).
    offset_convention: str = "stated"


@dataclass(frozen=True)
class UrlSettings:
    crossref: str = "https://api.crossref.org"
    unpaywall: str = "https://api.unpaywall.org"
    pmc: str = "https://www.ncbi.nlm.nih.gov/pmc"
    radiopaedia: str = "https://radiopaedia.org"
    eurorad: str = "https://www.eurorad.org"
    sirm: str = "https://sirm.org"


@dataclass(frozen=True)
class SiteSettings:
    # Seconds between requests to one host of a case site (a longer Crawl-delay wins).
    min_interval: float = 1.0
    # CT slices staged per CT stack, evenly spaced.
    ct_slices: int = 3


@dataclass(frozen=True)
class HttpSettings:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_download_mb: float = 100.0
    # Cap on a page, JSON or text body read into memory (decoded size).
    max_page_mb: float = 20.0
    max_redirects: int = 5
    retries: int = 4
    backoff_factor: float = 0.5
    # Longest Retry-After (seconds) a client waits before giving up on a 429/503.
    max_retry_after: float = 120.0
    # Crossref's polite pool allowed 10 requests/s and 3 concurrent (recorded headers).
    requests_per_second: float = 10.0
    max_concurrent_per_host: int = 3
    cache: bool = True
    cache_expire_days: float = 30.0
    # Loopback and private addresses are refused unless listed here.
    allowed_private_hosts: tuple[str, ...] = ()
    # Total seconds for one fetch (connecting, retries, redirects, the whole body), and for
    # all the fetches of one source: a server that drips bytes or never answers is given up.
    fetch_deadline: float = 180.0
    source_deadline: float = 900.0

    @property
    def max_download_bytes(self) -> int:
        return int(self.max_download_mb * 1024 * 1024)

    @property
    def max_page_bytes(self) -> int:
        return int(self.max_page_mb * 1024 * 1024)


@dataclass(frozen=True)
class Config:
    """The settings a run uses: one typed section per table of the settings file."""

    contact: ContactSettings = field(default_factory=ContactSettings)
    paths: PathSettings = field(default_factory=PathSettings)
    extraction: ExtractionSettings = field(default_factory=ExtractionSettings)
    classify: ClassifySettings = field(default_factory=ClassifySettings)
    textmeta: TextmetaSettings = field(default_factory=TextmetaSettings)
    urls: UrlSettings = field(default_factory=UrlSettings)
    sites: SiteSettings = field(default_factory=SiteSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    root: Path = REPO_ROOT

    def path(self, key: str) -> Path:
        value = Path(getattr(self.paths, key))
        return value if value.is_absolute() else self.root / value

    def url(self, name: str) -> str:
        return str(getattr(self.urls, name)).rstrip("/")

    def with_section(self, name: str, **values: Any) -> Config:
        """A copy with some values of one section changed (tests, one-off runs)."""
        return dataclasses.replace(
            self, **{name: dataclasses.replace(getattr(self, name), **values)}
        )

    @property
    def contact_email(self) -> str:
        return self.contact.email

    @property
    def user_agent(self) -> str:
        from pipeline import __version__

        return f"{self.contact.project}/{__version__} (mailto:{self.contact_email})"


# Table name -> its settings class.
SECTIONS: dict[str, type] = {
    name: kind for name, kind in typing.get_type_hints(Config).items() if name != "root"
}


def coerce(raw: str, kind: Any, where: str) -> Any:
    """An environment string as a value of the field's type."""
    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind is int:
            number = float(raw)
            if not number.is_integer():
                raise ValueError(f"{raw!r} is not a whole number")
            return int(number)
        if kind is float:
            return float(raw)
        if typing.get_origin(kind) in (tuple, list):
            return tuple(item.strip() for item in raw.split(",") if item.strip())
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return raw


def checked_value(value: Any, kind: Any, where: str) -> Any:
    """A value read from TOML, checked against the field's type."""
    if typing.get_origin(kind) in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(value)
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, str):
        return value
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")


def load_section(
    cls: type[S], table: dict[str, Any], env: dict[str, str], env_prefix: str, where: str
) -> S:
    """A settings dataclass from one TOML table, with `<env_prefix>_<KEY>` overrides."""
    hints = typing.get_type_hints(cls)
    known = {item.name for item in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    values = {
        key: checked_value(value, hints[key], f"{where}.{key}") for key, value in table.items()
    }
    for key in known:
        name = f"{env_prefix}_{key}".upper()
        if name in env:
            values[key] = coerce(env[name], hints[key], name)
    return cls(**values)


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the TOML file (PIPELINE_CONFIG or configs/pipeline.toml) and apply overrides."""
    env = dict(os.environ) if env is None else env
    config_path = path or Path(env.get("PIPELINE_CONFIG", DEFAULT_CONFIG))
    try:
        with open(config_path, "rb") as handle:
            tables: dict[str, Any] = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read settings: {exc}") from exc
    unknown = sorted(set(tables) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{config_path}: unknown section(s) {', '.join(unknown)}")
    # The short form of a base URL override: PIPELINE_CROSSREF_URL.
    env = {**env}
    for item in dataclasses.fields(UrlSettings):
        short = f"PIPELINE_{item.name}_URL".upper()
        if short in env:
            env[f"PIPELINE_URLS_{item.name}".upper()] = env[short]
    sections = {
        name: load_section(
            cls, tables.get(name, {}), env, f"PIPELINE_{name}", f"{config_path} [{name}]"
        )
        for name, cls in SECTIONS.items()
    }
    root = Path(env.get("PIPELINE_ROOT", REPO_ROOT))
    return Config(**sections, root=root)
