"""Which images of a case to take, and taking them: full resolution, never HTML."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import SourceError
from pipeline.files import place_once
from pipeline.sources.sites.base import CaseImage, CasePage, SiteBlocked

if TYPE_CHECKING:
    from pipeline.sources.sites.fetcher import SiteFetcher

MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"WEBP", 8, "webp"),
    (b"II*\x00", 0, "tif"),
    (b"MM\x00*", 0, "tif"),
    (b"BM", 0, "bmp"),
)


def image_kind(head: bytes) -> str | None:
    """The file type the bytes start with (png, jpg, ...), or None."""
    for magic, offset, kind in MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return kind
    return None


def refuse_non_image(head: bytes) -> str | None:
    """A reason to refuse a body that is not an image (an HTML error, login or captcha page)."""
    if image_kind(head):
        return None
    start = head.lstrip()[:512].lower()
    if start.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"<")):
        return "HTML served as an image (an error, login or captcha page)"
    return f"not an image file (starts with {head[:8]!r})"


@dataclass
class Selected:
    """An image of the page, and whether it is taken (and why not)."""

    index: int
    image: CaseImage
    taken: bool
    reason: str | None = None


def select_images(page: CasePage, ct_slices: int = 3) -> list[Selected]:
    """Every X-ray image; for a CT stack, `ct_slices` evenly spaced slices from its middle.

    Images whose modality the page does not say are taken for the classifier to decide;
    MRI, ultrasound and the like are not.
    """
    stacks: dict[str, list[int]] = defaultdict(list)
    for index, image in enumerate(page.images):
        if image.modality == "CT" and image.study is not None:
            stacks[image.study].append(index)
    chosen_ct: set[int] = set()
    for members in stacks.values():
        chosen_ct.update(representative(members, ct_slices))
    selected = []
    for index, image in enumerate(page.images):
        if image.modality == "other":
            selected.append(Selected(index, image, False, "not an X-ray or CT on the page"))
        elif image.modality == "CT" and image.study is not None and index not in chosen_ct:
            selected.append(Selected(index, image, False, "CT slice not among the few taken"))
        else:
            selected.append(Selected(index, image, True))
    return selected


def representative(members: list[int], count: int) -> list[int]:
    """`count` members evenly spaced, ends left out: [0..99], 3 -> 25, 50, 75."""
    if len(members) <= count:
        return list(members)
    return [members[(i + 1) * len(members) // (count + 1)] for i in range(count)]


@dataclass
class Downloaded:
    index: int
    image: CaseImage
    file: Path | None = None
    sha256: str | None = None
    url: str | None = None  # the address the file came from
    error: str | None = None
    flags: list[str] = field(default_factory=list)
    width: int | None = None
    height: int | None = None



def download_images(
    page: CasePage,
    selected: list[Selected],
    fetcher: SiteFetcher,
    out_dir: Path,
    stem: str,
    *,
    max_megapixels: float,
) -> list[Downloaded]:
    """Download the taken images into `out_dir`; one failure does not stop the others.

    A site that stops us (403, captcha) stops the whole case. A file already there from
    an earlier run is not fetched again. An image over `max_megapixels` is not kept.
    """
    results = []
    for choice in (item for item in selected if item.taken):
        result = Downloaded(choice.index, choice.image)
        name = f"{stem}-{choice.index + 1:03d}"
        existing = _existing(out_dir, name)
        if existing is not None:
            result.file, result.url = existing, choice.image.url
        else:
            _download_one(page.site, choice.image, fetcher, out_dir, name, result)
        if result.file is not None:
            _refuse_too_large(result, max_megapixels)
        if result.file is not None:
            result.sha256 = hashlib.sha256(result.file.read_bytes()).hexdigest()
        if not choice.image.full_resolution:
            result.flags.append("resized copy: the page gives no full-resolution file")
        results.append(result)
    return results


def _existing(out_dir: Path, name: str) -> Path | None:
    """The image an earlier run downloaded, if it is whole (a partial one is removed)."""
    from pipeline.bodies import complete_image

    for path in sorted(out_dir.glob(f"{name}.*")) if out_dir.exists() else []:
        if path.suffix.lstrip(".") in {kind for _m, _o, kind in MAGIC} and path.stat().st_size:
            if complete_image(path) is None:
                return path
            path.unlink(missing_ok=True)
    return None


def _download_one(
    site: str, image: CaseImage, fetcher: SiteFetcher, out_dir: Path, name: str, result: Downloaded
) -> None:
    partial = out_dir / f"{name}.download"
    attempts = [(image.url, image.page_url is None)]
    if image.page_url:
        attempts.append((image.page_url, True))
    for url, may_block in attempts:
        try:
            fetcher.download(site, url, partial, refuse_non_image, may_block=may_block)
        except SiteBlocked:
            raise
        except SourceError as exc:
            result.error = f"{url}: {exc.reason}" if result.error is None else result.error
            continue
        kind = image_kind(partial.read_bytes()[:16]) or "bin"
        placed = place_once(partial, out_dir / f"{name}.{kind}")
        result.file, result.url, result.sha256 = placed.path, url, placed.sha256
        if url != image.url:
            result.flags.append(f"resized copy: the full-size file failed ({result.error})")
        result.error = None
        return


def _refuse_too_large(result: Downloaded, max_megapixels: float) -> None:
    """Drop a file whose header declares more pixels than the cap (decompression bombs),
    naming the size it declares."""
    from dataclasses import replace

    from pipeline.budgets import DEFAULT_LIMITS, image_refusal
    from pipeline.classify.decode import declared_size

    assert result.file is not None
    declared = declared_size(result.file.read_bytes())
    if declared is None:
        return  # unreadable here: the classifier says why
    width, height, _per_pixel = declared
    limits = replace(DEFAULT_LIMITS, max_megapixels=max_megapixels)
    reason = image_refusal(limits, width, height, None)
    if reason is not None:
        result.error = reason
        result.file.unlink(missing_ok=True)
        result.file = None
    else:
        result.width, result.height = width, height
