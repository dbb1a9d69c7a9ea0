"""Radiology case sites: Radiopaedia, Eurorad and SIRM.

One module per site (`radiopaedia`, `eurorad`, `sirm`), each with its fields' ways declared
in one `WAYS` table (several markup forms per field, in order: `sites.forms`), its page parser,
and one `CASE_SITE` declaration (`sites.base.CaseSite`: licence, language, canonical
addresses, listing selectors) that the shared plumbing reads. `sites.scope` keeps the case and
drops the page around it (chrome, related cases, sidebars) by rules that name no class.
A site is recognised by the base URL configured for it in `[urls]`,
so a local server can stand in for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.sources.sites.base import CaseSite

SITE_NAMES = ("radiopaedia", "eurorad", "sirm")


def case_site(name: str) -> CaseSite:
    if name not in SITE_NAMES:
        raise ValueError(f"unknown site {name!r}: one of {', '.join(SITE_NAMES)}")
    return importlib.import_module(f"pipeline.sources.sites.{name}").CASE_SITE


def _host(netloc: str) -> str:
    netloc = netloc.lower()
    return netloc[4:] if netloc.startswith("www.") else netloc


def site_for_url(url: str, config: Config) -> str | None:
    """The site whose configured base URL the address is on (or on one of the site's mirror
    subdomains, like archivio.sirm.org), or None."""
    parts = urlsplit(url.strip())
    host = _host(parts.netloc)
    for name in SITE_NAMES:
        base = urlsplit(config.url(name))
        hosts = {_host(base.netloc)}
        hosts.update(f"{sub}.{_host(base.netloc)}" for sub in case_site(name).mirror_subdomains)
        if host in hosts and parts.path.startswith(base.path):
            return name
    return None
