"""The contract every kind of source fulfils, and what sources fetch with.

A source is what the pipeline is pointed at (a local PDF, a DOI, a case page, a PDF link).
It knows the id its outcome is recorded under, and resolves to a `Document`; everything
after that is the same for every kind (pipeline/extract.py). A new kind of source is one
module with one class, registered in `pipeline.sources.SOURCE_KINDS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.document import Document
    from pipeline.http import HttpClient
    from pipeline.sources.sites.fetcher import SiteFetcher

# Runs one named step: the library calls steps directly, the Prefect flow as tasks.
StepRunner = Callable[..., Any]


def run_directly(name: str, step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return step(*args, **kwargs)


@dataclass
class Fetching:
    """The clients a run shares: one HTTP client (one rate limit per host) and one site
    fetcher (robots.txt, a site stopped for the rest of the run). Made on first use when
    not given, and then closed by `close`."""

    config: Config
    client: HttpClient | None = None
    fetcher: SiteFetcher | None = None
    _owned: list[Any] = field(default_factory=list)

    def http(self) -> HttpClient:
        if self.client is None:
            from pipeline.http import HttpClient

            self.client = HttpClient(self.config)
            self._owned.append(self.client)
        return self.client

    def sites(self) -> SiteFetcher:
        """The site fetcher: on the shared client when there is one, else on a client of its
        own that keeps the sites' pace and caches nothing (a captcha must not be replayed)."""
        if self.fetcher is None:
            from pipeline.sources.sites.fetcher import SiteFetcher

            self.fetcher = SiteFetcher.from_config(self.config, self.client)
            self._owned.append(self.fetcher)
        return self.fetcher

    def close(self) -> None:
        for owned in reversed(self._owned):
            with contextlib.suppress(Exception):
                owned.close()
        self._owned.clear()

    def __enter__(self) -> Fetching:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class Source(Protocol):
    kind: str  # "pdf", "doi", "url" or "pdf-url"
    location: str  # the file, DOI or address as given

    @property
    def source_id(self) -> str:
        """The id an outcome is recorded under, known before resolving (even if it fails)."""
        ...

    def resolve(self, fetching: Fetching, run_step: StepRunner = run_directly) -> Document:
        """The document: facts and images written under extracted/<source id>/. Raises
        SourceError (naming the source and the reason) when it cannot."""
        ...
