"""What the review page reads: the filtered queue, a candidate's neighbours, its history."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pipeline.records import STATUSES
from pipeline.store import AuditEntry, Candidate, Store

DUPLICATE_FLAG = re.compile(r"duplicate of candidate (\d+)(?:\s*\(distance\s*([\d.]+)\))?", re.I)
FLAG_DETAIL = re.compile(r"\s+(?:of\b|\().*$")
# Keys of a candidate that a history entry compares, besides the dataset fields.
HISTORY_KEYS = ("status", "decided_by", "decision_reason")


@dataclass(frozen=True)
class QueueFilter:
    """The reviewer's current view of the queue; empty strings mean "any"."""

    status: str = "pending"
    source: str = ""
    modality: str = ""
    flag: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> QueueFilter:
        status = args.get("status", "pending")
        return cls(
            status=status if status in (*STATUSES, "all") else "pending",
            source=args.get("source", ""),
            modality=args.get("modality", ""),
            flag=args.get("flag", ""),
        )

    def args(self) -> dict[str, str]:
        """Query-string arguments that reproduce this filter (defaults left out)."""
        values = asdict(self)
        if values["status"] == "pending":
            del values["status"]
        return {key: value for key, value in values.items() if value}

    def matches(self, candidate: Candidate) -> bool:
        if self.modality and (candidate.fields.get("modality") or "") != self.modality:
            return False
        return not self.flag or self.flag in flag_kinds(candidate.flags)


def flag_kind(flag: str) -> str:
    """A flag without its particulars: "possible duplicate of candidate 4 (distance 3)"
    is of kind "possible duplicate"."""
    return FLAG_DETAIL.sub("", flag).strip() or flag


def flag_kinds(flags: list[str] | None) -> set[str]:
    return {flag_kind(flag) for flag in flags or []}


# Staged because nothing ruled them out, not because they look like radiographs: these come
# after the confident ones, so a reviewer clears the likely rows first (one key each).
DOUBTFUL_FLAG = "low confidence"


def queue(store: Store, view: QueueFilter) -> list[Candidate]:
    """Candidates in the view, oldest first (a source's images stay together), those the
    classifier was not sure of after the rest."""
    status = None if view.status == "all" else view.status
    rows = store.candidates(status=status, source_id=view.source or None)
    rows = [row for row in rows if view.matches(row)]
    return sorted(rows, key=lambda row: DOUBTFUL_FLAG in row.flags)


def facets(store: Store) -> dict[str, Any]:
    """The values each filter can take, and how many candidates have each status."""
    flags = store.distinct("flags")
    return {
        "sources": sorted(store.distinct("source_id")),
        "modalities": sorted(store.distinct("f_modality")),
        "flags": sorted({kind for row_flags in flags for kind in flag_kinds(row_flags)}),
        "counts": store.status_counts(),
    }


@dataclass(frozen=True)
class Position:
    index: int | None  # 0-based place in the queue, None when the candidate left it
    total: int
    previous: int | None
    next: int | None


def position(ids: list[int], current: int) -> Position:
    """Where a candidate sits in the queue; after a decision it may have left it, and
    next/previous are then the queue's neighbours by id."""
    if current in ids:
        index = ids.index(current)
        return Position(
            index,
            len(ids),
            ids[index - 1] if index > 0 else None,
            ids[index + 1] if index + 1 < len(ids) else None,
        )
    before = [cid for cid in ids if cid < current]
    after = [cid for cid in ids if cid > current]
    return Position(None, len(ids), before[-1] if before else None, after[0] if after else None)


def neighbours(store: Store, candidate: Candidate) -> tuple[list[Candidate], set[int]]:
    """Every candidate of the same source (figure panels, case images), in page order, and
    the ids of those from the same page or figure."""
    rows = store.candidates(source_id=candidate.source_id)
    rows.sort(key=lambda row: (row.page or 0, row.image_index or 0, row.panel or "", row.id))
    same_figure = {
        row.id
        for row in rows
        if row.id != candidate.id
        and (
            (row.image_index is not None and row.image_index == candidate.image_index)
            or (row.page is not None and row.page == candidate.page)
        )
    }
    return rows, same_figure


def duplicates_named(flags: list[str] | None) -> list[tuple[int, str | None]]:
    """(candidate id, distance) for each flag that names another candidate."""
    found = []
    for flag in flags or []:
        match = DUPLICATE_FLAG.search(flag)
        if match:
            found.append((int(match.group(1)), match.group(2)))
    return found


def changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[tuple[str, Any, Any]]:
    """(name, before, after) for each decision key and dataset field an audit entry changed."""
    before, after = before or {}, after or {}
    found = [
        (key, before.get(key), after.get(key))
        for key in HISTORY_KEYS
        if before.get(key) != after.get(key)
    ]
    old, new = before.get("fields") or {}, after.get("fields") or {}
    found += [
        (name, old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if (old.get(name) or None) != (new.get(name) or None)
    ]
    return found


@dataclass(frozen=True)
class HistoryEntry:
    """An audit entry with what it changed, for the page."""

    entry: AuditEntry
    changes: list[tuple[str, Any, Any]]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.entry, name)


def history(store: Store, candidate_id: int | None = None, limit: int = 200) -> list[HistoryEntry]:
    """Audit entries, newest first, each with the list of what it changed."""
    entries = store.audit(candidate_id)[-limit:]
    entries.reverse()
    return [HistoryEntry(entry, changes(entry.before, entry.after)) for entry in entries]


def patients_of_source(store: Store, source_id: str) -> list[str]:
    """Patient ids already given to this source's images, so a reviewer can merge into one."""
    values = store.patient_ids(source_id)
    return sorted(values, key=lambda value: (not value.isdigit(), len(value), value))
