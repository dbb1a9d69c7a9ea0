"""Find each image's figure caption ("Figure 2.", "Fig. 2", "FIG 2", "Figure 2:") by page
geometry, in one- and two-column layouts, and split captions into their panels' parts.

A caption is a text block that starts with a figure label. An image takes the nearest
caption below it that shares its column (their x ranges overlap), with no paragraph in
between; failing that, a caption just above it that no image above claims. Several images
under one caption are the panels of one figure: they get letters in reading order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pymupdf

    from pipeline.pdf.images import PdfImage

# "Figure 2." "Fig. 2:" "FIG 2 Chest" "Figure S3 |" "Supplementary Figure 1." -- but not
# body text such as "Figure 2 shows ...".
CAPTION_START = re.compile(
    r"^\s*(?:supplementa(?:l|ry)\s+)?(?:figure|fig\.?)\s*(?P<number>S?\d+[A-Za-z]?)"
    r"(?:\s*[.:|\u2014\u2013-]|\s+(?=(?-i:[A-Z(\[]))|\s*$)",
    re.I,
)
_LINE_LABEL = re.compile(r"(?m)^\s*(?:supplementa(?:l|ry)\s+)?fig(?:ure)?\.?\s*S?\d", re.I)
TEXT_FLAGS = 64  # pymupdf.TEXT_MEDIABOX_CLIP
NOT_FIGURES = {"icon", "repeated", "tile", "in-smask"}
_MAX_BELOW = 0.4  # of page height: how far below an image its caption may start
_MAX_ABOVE = 0.15
_PARAGRAPH = 30.0  # points: a text block this tall between image and caption is body text
_CONTINUATION_GAP = 4.0  # points between a caption block and a block that continues it
_SIDE_GAP = 30.0  # points between an image and a caption beside it
_ROW_GAP = 30.0  # points between images side by side in one figure


@dataclass
class Block:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    caption: bool


def page_blocks(page: pymupdf.Page) -> list[Block]:
    """Text blocks of a page, caption blocks joined with the blocks that continue them."""
    raw = sorted(
        # MEDIABOX_CLIP alone: no image blocks (which cost 40% more), ligatures expanded.
        (b for b in page.get_text("blocks", flags=TEXT_FLAGS) if b[6] == 0 and b[4].strip()),
        key=lambda b: (b[1], b[0]),
    )
    blocks: list[Block] = []
    for b in raw:
        if len(_LINE_LABEL.findall(b[4])) >= 2:
            blocks.extend(_split_captions(page, b[:4]))  # two captions side by side
        else:
            blocks.append(Block(b[0], b[1], b[2], b[3], " ".join(b[4].split()),
                                bool(CAPTION_START.match(b[4]))))  # fmt: skip
    for block in blocks:
        if not block.caption:
            continue
        for other in blocks:
            if other is block or other.caption or not other.text:
                continue
            gap = other.y0 - block.y1
            if -1.0 <= gap <= _CONTINUATION_GAP and abs(other.x0 - block.x0) <= 6.0:
                block.text = f"{block.text} {other.text}"
                block.y1 = other.y1
                other.text = ""  # consumed
    return [b for b in blocks if b.text]


def _split_captions(page: pymupdf.Page, rect: tuple[float, ...]) -> list[Block]:
    """A text block holding several captions (figures side by side, their captions set on
    one baseline) split into one block per caption, each with its own lines' extent."""
    parts: list[Block] = []
    text = page.get_text("dict", clip=rect, flags=TEXT_FLAGS)
    for block in text["blocks"]:
        for line in block.get("lines", []):
            words = " ".join("".join(span["text"] for span in line["spans"]).split())
            if not words:
                continue
            x0, y0, x1, y1 = line["bbox"]
            if CAPTION_START.match(words) or not parts:
                parts.append(Block(x0, y0, x1, y1, words, bool(CAPTION_START.match(words))))
            else:
                last = parts[-1]
                last.text = f"{last.text} {words}"
                last.x0, last.y0 = min(last.x0, x0), min(last.y0, y0)
                last.x1, last.y1 = max(last.x1, x1), max(last.y1, y1)
    return parts


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _same_column(bbox: tuple[float, float, float, float], block: Block) -> bool:
    x0, _, x1, _ = bbox
    overlap = _overlap(x0, x1, block.x0, block.x1)
    if overlap >= 0.3 * min(x1 - x0, block.x1 - block.x0):
        return True
    # A short caption set flush left in the column under a centred figure.
    return overlap > 0 and block.x0 <= x0 + 2


def _paragraph_between(
    blocks: list[Block], bbox: tuple[float, ...], top: float, bottom: float
) -> bool:
    x0, _, x1, _ = bbox
    for block in blocks:
        if block.caption or block.y1 - block.y0 < _PARAGRAPH:
            continue
        if block.y0 >= top - 1 and block.y1 <= bottom + 1 and _overlap(x0, x1, block.x0, block.x1):
            return True
    return False


def caption_below(
    blocks: list[Block], bbox: tuple[float, float, float, float], page_height: float
) -> Block | None:
    best: Block | None = None
    for block in blocks:
        if not block.caption or block.y0 < bbox[3] - 5 or not _same_column(bbox, block):
            continue
        if block.y0 - bbox[3] > _MAX_BELOW * page_height:
            continue
        if best is None or block.y0 < best.y0:
            best = block
    if best is not None and _paragraph_between(blocks, bbox, bbox[3], best.y0):
        return None
    return best


def caption_above(
    blocks: list[Block], bbox: tuple[float, float, float, float], page_height: float
) -> Block | None:
    best: Block | None = None
    for block in blocks:
        if not block.caption or block.y1 > bbox[1] + 5 or not _same_column(bbox, block):
            continue
        if bbox[1] - block.y1 > _MAX_ABOVE * page_height:
            continue
        if best is None or block.y1 > best.y1:
            best = block
    if best is not None and _paragraph_between(blocks, bbox, best.y1, bbox[1]):
        return None
    return best


def caption_beside(blocks: list[Block], bbox: tuple[float, float, float, float]) -> Block | None:
    """A side caption (some journals put it in the margin beside the figure): a caption
    block starting within the image's height, just left or right of it."""
    x0, y0, x1, y1 = bbox
    best: tuple[float, Block] | None = None
    for block in blocks:
        if not block.caption or not (y0 - 5 <= block.y0 <= y1):
            continue
        gap = block.x0 - x1 if block.x0 >= x1 - 2 else x0 - block.x1
        if gap < -2 or gap > _SIDE_GAP:
            continue
        if best is None or gap < best[0]:
            best = (gap, block)
    return best[1] if best else None


def attach_captions(doc: pymupdf.Document, images: list[PdfImage]) -> None:
    """Set `caption` on each figure-like image; letter several images under one caption."""
    by_page: dict[int, list[PdfImage]] = {}
    for image in images:
        if image.bbox is not None and not NOT_FIGURES.intersection(image.flags):
            by_page.setdefault(image.page, []).append(image)
    for page_number, page_images in by_page.items():
        page = doc[page_number - 1]
        blocks = page_blocks(page)
        if not any(block.caption for block in blocks):
            continue
        height = page.rect.height
        claimed: dict[int, Block] = {}
        for image in page_images:
            block = caption_below(blocks, image.bbox, height)  # type: ignore[arg-type]
            if block is not None:
                claimed[image.index] = block
        taken = {id(block) for block in claimed.values()}
        for image in page_images:
            if image.index in claimed:
                continue
            block = caption_above(blocks, image.bbox, height)  # type: ignore[arg-type]
            if block is None or id(block) in taken:
                block = caption_beside(blocks, image.bbox)  # type: ignore[arg-type]
            if block is not None and id(block) not in taken:
                claimed[image.index] = block
        _share_with_row_neighbours(page_images, claimed)
        for image in page_images:
            if image.index in claimed:
                image.caption = claimed[image.index].text
        _letter_images_sharing_a_caption(page_images)


def _share_with_row_neighbours(images: list[PdfImage], claimed: dict[int, Block]) -> None:
    """Images side by side in one row share the caption under the row, which may start
    under the first of them only (a short caption is no wider than its first column)."""
    for image in images:
        if image.index in claimed:
            continue
        x0, y0, x1, y1 = image.bbox  # type: ignore[misc]
        for other in images:
            block = claimed.get(other.index)
            if block is None or other is image:
                continue
            ox0, oy0, ox1, oy1 = other.bbox  # type: ignore[misc]
            same_row = _overlap(y0, y1, oy0, oy1) >= 0.5 * min(y1 - y0, oy1 - oy0)
            near = max(ox0 - x1, x0 - ox1) <= _ROW_GAP
            if same_row and near and block.y0 >= max(y1, oy1) - 5:
                claimed[image.index] = block
                break


def reading_order(boxes: list[tuple[float, float, float, float]]) -> list[int]:
    """Indexes of boxes in reading order: rows top to bottom, left to right in a row."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i][1], boxes[i][0]))
    rows: list[list[int]] = []
    for i in order:
        x0, y0, x1, y1 = boxes[i]
        for row in rows:
            r = boxes[row[0]]
            if _overlap(y0, y1, r[1], r[3]) >= 0.5 * min(y1 - y0, r[3] - r[1]):
                row.append(i)
                break
        else:
            rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: boxes[j][0])]


def _letter_images_sharing_a_caption(images: list[PdfImage]) -> None:
    groups: dict[str, list[PdfImage]] = {}
    for image in images:
        if image.caption:
            groups.setdefault(image.caption, []).append(image)
    for caption, group in groups.items():
        if len(group) < 2:
            continue
        parts = split_panel_captions(caption)
        letters = list(parts)
        if len(letters) != len(group):
            continue
        order = reading_order([image.bbox for image in group])  # type: ignore[misc]
        for letter, position in zip(letters, order, strict=True):
            group[position].panel = letter
            group[position].panel_caption = parts[letter]


# -- panel parts of a caption -----------------------------------------------------------------

_LETTERS = r"[A-Ha-h]"
_JOINER = r"\s*(?:,|and|&|-|\u2013|\u2014|to)\s*"
_MARKERS = [
    # (A) (a) (A, B) (A and B) (A-C)
    re.compile(rf"\((?P<letters>{_LETTERS}(?:{_JOINER}{_LETTERS})*)\)"),
    # a) A) at the start or after punctuation / space
    re.compile(rf"(?:(?<=^)|(?<=[\s;.,:]))(?P<letters>{_LETTERS})\)"),
    # A. / A: / a, at the start of a sentence
    re.compile(r"(?:(?<=^)|(?<=[.;:]\s))(?P<letters>[A-H])[.:]\s"),
]
_TRAILING_JOINER = re.compile(r"[\s,;:]*\b(?:and|or)\s*$")
_LABEL = re.compile(CAPTION_START.pattern + r"\s*", re.I)


def _expand(letters: str) -> list[str]:
    found = re.findall(rf"(?<![A-Za-z]){_LETTERS}(?![A-Za-z])|-|\u2013|\u2014|\bto\b", letters)
    out: list[str] = []
    i = 0
    while i < len(found):
        token = found[i]
        if token in ("-", "\u2013", "\u2014", "to") and out and i + 1 < len(found):
            start, end = out[-1], found[i + 1]
            out.extend(chr(c) for c in range(ord(start) + 1, ord(end) + 1))
            i += 2
            continue
        if token not in ("-", "\u2013", "\u2014", "to"):
            out.append(token)
        i += 1
    return out


def split_panel_captions(caption: str) -> dict[str, str]:
    """Panel letter -> the caption's text about that panel (with the shared lead-in).

    "Figure 1. A 65-year-old man. (A) Day 1 radiograph. (B) CT on day 5." gives
    {"A": "A 65-year-old man. Day 1 radiograph.", "B": "A 65-year-old man. CT on day 5."}.
    An empty dict when the caption names fewer than two panels.
    """
    for marker in _MARKERS:
        matches = list(marker.finditer(caption))
        letters_seen: list[str] = []
        segments: list[tuple[list[str], int, int]] = []
        for match in matches:
            letters = _expand(match.group("letters"))
            if not letters or any(letter in letters_seen for letter in letters):
                continue
            letters_seen.extend(letters)
            segments.append((letters, match.start(), match.end()))
        if len(letters_seen) < 2 or letters_seen[0].upper() != "A":
            continue
        lead = _LABEL.sub("", caption[: segments[0][1]], count=1).strip(" ,;:")
        parts: dict[str, str] = {}
        for n, (letters, _start, end) in enumerate(segments):
            stop = segments[n + 1][1] if n + 1 < len(segments) else len(caption)
            text = _TRAILING_JOINER.sub("", caption[end:stop]).strip(" ,;:")
            for letter in letters:
                parts[letter] = f"{lead} {text}".strip() if lead else text
        return dict(sorted(parts.items()))
    return {}
