"""Several ways to each field, in order, declared as data; the first that matches wins.

Each site module declares, per field, a tuple of `Way`s: the markup form it was seen in
("2020", "2023", "2025", "teaching-case" ...), a CSS selector, and optionally the attribute
to read, a pattern the value must match, or a reader for rows that need one. `Reading`
tries them in order, remembers which form matched each field (the run report shows it), and
raises `LayoutChanged` naming the field and every way tried when none does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup, Tag

from pipeline.sources.sites.base import LayoutChanged, one_line


@dataclass(frozen=True)
class Way:
    """One way a field is written: where to look, and what to read there."""

    form: str  # the markup form it belongs to, e.g. "2020", "2023", "2025"
    selector: str
    attr: str | None = None  # read this attribute; else the element's text
    pattern: str | None = None  # the value must match; its first group (or all) is kept
    read: Callable[[Tag], Any] | None = None  # a reader for structures a selector cannot say

    def describe(self) -> str:
        what = f"@{self.attr}" if self.attr else ""
        return f"{self.form} `{self.selector}{what}`"

    def value(self, node: Tag) -> Any:
        if self.read is not None:
            return self.read(node) or None
        raw = node.get(self.attr) if self.attr else node.get_text(" ")
        text = one_line(raw if isinstance(raw, str) else " ".join(raw or []))
        if self.pattern is None:
            return text or None
        match = re.search(self.pattern, text, re.I)
        if match is None:
            return None
        return (match.group(1) if match.groups() else match.group(0)).strip() or None


@dataclass
class Match:
    value: Any
    node: Tag
    form: str


def select(root: Tag, selector: str) -> list[Tag]:
    """The elements matching `selector`: `root` itself first when it matches, then below it."""
    found = list(root.select(selector))
    if not isinstance(root, BeautifulSoup) and root.css.match(selector):
        found.insert(0, root)
    return found


def first_match(root: Tag, ways: Iterable[Way]) -> Match | None:
    """The first element, by way then document order, that yields a value."""
    for way in ways:
        for node in select(root, way.selector):
            value = way.value(node)
            if value:
                return Match(value, node, way.form)
    return None


def all_matches(root: Tag, ways: Iterable[Way]) -> list[Match]:
    """Every element of the first way that yields any value (one form per page)."""
    for way in ways:
        found = [Match(value, node, way.form) for node in select(root, way.selector)
                 if (value := way.value(node))]  # fmt: skip
        if found:
            return found
    return []


def note_form(matched: dict[str, str], name: str, form: str) -> None:
    """Record the form `name` was read by; a field read several times (one per study or
    figure) by different forms lists them all: "2024, 2025"."""
    forms = matched[name].split(", ") if name in matched else []
    if form not in forms:
        matched[name] = ", ".join([*forms, form])


def tried(ways: Iterable[Way]) -> str:
    return ", ".join(way.describe() for way in ways)


@dataclass
class Reading:
    """One page being read: which form matched each field, and loud failure when none did."""

    site: str
    url: str
    matched: dict[str, str] = field(default_factory=dict)

    def find(
        self, name: str, root: Tag, ways: tuple[Way, ...], *, required: bool = False
    ) -> Match | None:
        """The first match of `name`'s ways (None, or LayoutChanged when `required`)."""
        found = first_match(root, ways)
        if found is not None:
            self.note(name, found.form)
        elif required:
            self.missing(name, ways)
        return found

    def every(
        self, name: str, root: Tag, ways: tuple[Way, ...], *, required: bool = False
    ) -> list[Match]:
        found = all_matches(root, ways)
        if found:
            self.note(name, found[0].form)
        elif required:
            self.missing(name, ways)
        return found

    def note(self, name: str, form: str) -> None:
        note_form(self.matched, name, form)

    def missing(self, name: str, ways: tuple[Way, ...] | str) -> None:
        how = ways if isinstance(ways, str) else tried(ways)
        raise LayoutChanged(self.site, self.url, f"no {name} (tried {how})")
