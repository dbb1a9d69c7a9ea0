"""Find each image's figure caption ("Figure 2.", "Fig. 2", "FIG 2", "Figure 2:") by page
geometry, in one- and two-column layouts, and split captions into their panels' parts.

A caption is a text block that starts with a figure label. An image takes the nearest
caption below it that shares its column (their x ranges overlap), with no paragraph in
between; failing that, a caption just above it that no image above claims. An image still
without one may take a caption far below it (nothing but short labels in between), or the
caption opening its column on the next page (closing it on the previous one), when nothing
else could own that caption and its figure number fits those around it. Several images
under one caption are the panels of one figure: they get letters in reading order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.pdf.caption_text import CAPTION_START, split_panel_captions

if TYPE_CHECKING:
    import pymupdf

    from pipeline.pdf.record import PdfImage

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
    pages = _Pages(doc, by_page)
    claims: dict[int, dict[int, Block]] = {}  # page -> image index -> caption block
    for page_number, page_images in by_page.items():
        claims[page_number] = _claim_on_page(pages, page_number, page_images)
    for page_number, page_images in by_page.items():
        _claim_far_below(pages, page_number, page_images, claims)
    _claim_across_pages(pages, by_page, claims)
    for page_number, page_images in by_page.items():
        claimed = claims[page_number]
        _share_with_row_neighbours(page_images, claimed)
        for image in page_images:
            if image.index in claimed:
                image.caption = claimed[image.index].text
        _letter_images_sharing_a_caption(page_images)


Box = tuple[float, float, float, float]


class _Pages:
    """Text blocks and vector drawings (read once, on demand) of a document's pages, and
    where its figure-like images are drawn."""

    def __init__(self, doc: pymupdf.Document, by_page: dict[int, list[PdfImage]]) -> None:
        self.doc = doc
        self._blocks: dict[int, list[Block]] = {}
        self._drawings: dict[int, list[Box]] = {}
        self.boxes: dict[int, list[tuple[int, Box]]] = {
            page: [(image.index, image.bbox) for image in images]  # type: ignore[misc]
            for page, images in by_page.items()
        }

    def __len__(self) -> int:
        return self.doc.page_count

    def blocks(self, page_number: int) -> list[Block]:
        if page_number not in self._blocks:
            self._blocks[page_number] = page_blocks(self.doc[page_number - 1])
        return self._blocks[page_number]

    def height(self, page_number: int) -> float:
        return self.doc[page_number - 1].rect.height

    def margin_words(self, page_number: int) -> set[str]:
        """The texts, numbers taken out, of the blocks in a page's top and bottom bands."""
        height = self.height(page_number)
        return {
            _DIGITS.sub("", b.text).strip() for b in self.blocks(page_number) if _in_band(b, height)
        }

    def drawings(self, page_number: int) -> list[Box]:
        """Vector drawings at least _DRAWING points both ways (read on demand: rare)."""
        if page_number not in self._drawings:
            rects = (path["rect"] for path in self.doc[page_number - 1].get_drawings())
            self._drawings[page_number] = [
                (r.x0, r.y0, r.x1, r.y1)
                for r in rects
                if r.width >= _DRAWING and r.height >= _DRAWING
            ]
        return self._drawings[page_number]


def _claim_on_page(
    pages: _Pages, page_number: int, page_images: list[PdfImage]
) -> dict[int, Block]:
    blocks = pages.blocks(page_number)
    claimed: dict[int, Block] = {}
    if not any(block.caption for block in blocks):
        return claimed
    height = pages.height(page_number)
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
    return claimed


# -- captions away from their figure: far down the page, or on the neighbouring page --------
# Taken only by an image that found no caption on its own page, only when nothing that could
# be another figure (an image, a vector drawing, a caption, a paragraph) lies in between,
# and only when the figure number fits between those of the figures around it.

_MAX_FAR_BELOW = 0.8  # of page height: beyond 40%, when only short labels lie in between
_MARGIN = 0.08  # of page height: running heads and page numbers live in this band
_DRAWING = 20.0  # points: a vector drawing this large both ways may be a figure
_DIGITS = re.compile(r"\d+")
_CONTINUED = re.compile(r"\bcont(?:inued|d)?\b", re.I)


def figure_number(block: Block) -> tuple[str, int] | None:
    """("", 3) for "Figure 3." or "Fig. 3b:", ("S", 2) for "Figure S2 |"."""
    match = CAPTION_START.match(block.text)
    if match is None:
        return None
    number = match.group("number")
    digits = re.match(r"\d+", number.lstrip("Ss"))
    return ("S" if number[0] in "Ss" else "", int(digits.group())) if digits else None


class _Numbers:
    """Figure numbers of the captions linked so far, to check a new link against."""

    def __init__(self, by_page: dict[int, list[PdfImage]], claims: dict[int, dict[int, Block]]):
        self.linked: list[tuple[int, Box, tuple[str, int]]] = []
        for page_number, page_images in by_page.items():
            for image in page_images:
                block = claims[page_number].get(image.index)
                number = figure_number(block) if block is not None else None
                if number is not None:
                    self.linked.append((page_number, image.bbox, number))  # type: ignore[arg-type]

    def fits(self, page_number: int, bbox: Box, block: Block) -> bool:
        """Larger than the numbers before the image and smaller than those after it (equal
        only for a figure "continued"). On the image's page, its column only: the order of
        columns side by side is not known."""
        number = figure_number(block)
        if number is None:
            return False
        same = 0 if _CONTINUED.search(block.text) else 1
        for other_page, other, other_number in self.linked:
            if other_number[0] != number[0]:
                continue
            if other_page == page_number:
                if not _overlap(bbox[0], bbox[2], other[0], other[2]):
                    continue
                before = other[1] < bbox[1]
            else:
                before = other_page < page_number
            if (before and other_number[1] > number[1] - same) or (
                not before and other_number[1] < number[1] + same
            ):
                return False
        return True


def _in_column(blocks: list[Block], bbox: Box) -> list[Block]:
    return sorted((b for b in blocks if _same_column(bbox, b)), key=lambda b: b.y0)


def _in_band(block: Block, height: float) -> bool:
    return block.y1 <= _MARGIN * height or block.y0 >= (1 - _MARGIN) * height


def _in_margin(pages: _Pages, page_number: int, block: Block) -> bool:
    """A page number, or a running head: the same words (numbers aside) in the margin band
    of a page nearby. A line of body text at the top of a page is neither."""
    if block.caption or not _in_band(block, pages.height(page_number)):
        return False
    words = _DIGITS.sub("", block.text).strip()
    if len(words) <= 3:
        return True
    nearby = (page_number - 2, page_number - 1, page_number + 1, page_number + 2)
    return any(words in pages.margin_words(other) for other in nearby if 1 <= other <= len(pages))


def _body(pages: _Pages, page_number: int, block: Block) -> bool:
    """A caption or a paragraph (not a short label), outside the margin bands."""
    if _in_margin(pages, page_number, block):
        return False
    return block.caption or block.y1 - block.y0 >= _PARAGRAPH


def _drawing_between(drawings: list[Box], bbox: Box, top: float, bottom: float) -> bool:
    x0, _, x1, _ = bbox
    return any(
        d[1] >= top - 2 and d[3] <= bottom + 2 and _overlap(x0, x1, d[0], d[2]) for d in drawings
    )


def _image_between(
    pages: _Pages, page_number: int, bbox: Box, top: float, bottom: float, skip: int | None = None
) -> bool:
    for index, other in pages.boxes.get(page_number, []):
        if index == skip or not _overlap(bbox[0], bbox[2], other[0], other[2]):
            continue
        if _overlap(top, bottom, other[1], other[3]) > 2:
            return True
    return False


def _clear_between(
    pages: _Pages, page_number: int, bbox: Box, top: float, bottom: float, skip: int | None = None
) -> bool:
    """Nothing that could be another figure or body text between top and bottom."""
    if bottom - top > 2 and _image_between(pages, page_number, bbox, top, bottom, skip):
        return False
    blocks = pages.blocks(page_number)
    if _paragraph_between(blocks, bbox, top, bottom):
        return False
    return not _drawing_between(pages.drawings(page_number), bbox, top, bottom)


def _claim_far_below(
    pages: _Pages,
    page_number: int,
    page_images: list[PdfImage],
    claims: dict[int, dict[int, Block]],
) -> None:
    claimed = claims[page_number]
    blocks = pages.blocks(page_number)
    height = pages.height(page_number)
    numbers = _Numbers({page_number: page_images}, claims)
    taken = {id(block) for block in claimed.values()}
    for image in page_images:
        if image.index in claimed:
            continue
        bbox: Box = image.bbox  # type: ignore[assignment]
        below = [b for b in _in_column(blocks, bbox) if b.y0 >= bbox[3] - 5]
        block = next((b for b in below if b.caption), None)
        if block is None or id(block) in taken or block.y0 - bbox[3] > _MAX_FAR_BELOW * height:
            continue
        if any(b.caption for b in blocks if b is not block and bbox[3] - 5 <= b.y0 < block.y0):
            continue  # another caption in between, perhaps in a neighbouring column
        if not numbers.fits(page_number, bbox, block):
            continue
        if _clear_between(pages, page_number, bbox, bbox[3], block.y0, image.index):
            claimed[image.index] = block


def _claim_across_pages(
    pages: _Pages, by_page: dict[int, list[PdfImage]], claims: dict[int, dict[int, Block]]
) -> None:
    numbers = _Numbers(by_page, claims)
    new: list[tuple[int, int, Block]] = []
    for page_number, page_images in by_page.items():
        for image in page_images:
            if image.index in claims[page_number]:
                continue
            bbox: Box = image.bbox  # type: ignore[assignment]
            block = _caption_on_next_page(pages, page_number, bbox, claims)
            if block is None:
                block = _caption_on_previous_page(pages, page_number, bbox, claims)
            if block is not None and numbers.fits(page_number, bbox, block):
                new.append((page_number, image.index, block))
    for page_number, index, block in new:
        claims[page_number][index] = block
    for page_number in {page_number for page_number, _, _ in new}:
        across = frozenset(index for number, index, _ in new if number == page_number)
        _share_with_row_neighbours(by_page[page_number], claims[page_number], across)


def _caption_on_next_page(
    pages: _Pages,
    page_number: int,
    bbox: Box,
    claims: dict[int, dict[int, Block]],
) -> Block | None:
    """The caption that opens the image's column on the next page, when the image ends its
    column on its own page and that caption heads no figure of its own."""
    if page_number >= len(pages):
        return None
    if any(
        _body(pages, page_number, b)
        for b in _in_column(pages.blocks(page_number), bbox)
        if b.y0 >= bbox[3] - 5
    ):
        return None
    following = page_number + 1
    next_height = pages.height(following)
    column = _in_column(pages.blocks(following), bbox)
    first = next((b for b in column if not _in_margin(pages, following, b)), None)
    if first is None or not first.caption or _claimed(first, claims.get(following, {})):
        return None
    # What follows the caption up to the first paragraph must not be a figure of its own.
    stop = next((b.y0 for b in column if b.y0 > first.y1 and _body(pages, following, b)), None)
    stop = stop if stop is not None else next_height
    if not _clear_between(pages, following, bbox, first.y1, stop):
        return None
    return first


def _caption_on_previous_page(
    pages: _Pages,
    page_number: int,
    bbox: Box,
    claims: dict[int, dict[int, Block]],
) -> Block | None:
    """The caption that ends the image's column on the previous page, when the image opens
    its column on its own page and that caption closes no figure of its own."""
    if page_number <= 1:
        return None
    if any(
        _body(pages, page_number, b)
        for b in _in_column(pages.blocks(page_number), bbox)
        if b.y1 <= bbox[1] + 5
    ):
        return None
    if _image_between(pages, page_number, bbox, 0, bbox[1] - 2):
        return None
    previous = page_number - 1
    column = [
        b for b in _in_column(pages.blocks(previous), bbox) if not _in_margin(pages, previous, b)
    ]
    if not column:
        return None
    last = max(column, key=lambda b: b.y1)
    if not last.caption or _claimed(last, claims.get(previous, {})):
        return None
    # What precedes the caption back to the last paragraph must not be a figure of its own.
    start = max((b.y1 for b in column if b.y1 < last.y0 and _body(pages, previous, b)), default=0.0)
    if not _clear_between(pages, previous, bbox, start, last.y0):
        return None
    return last


def _claimed(block: Block, claimed: dict[int, Block]) -> bool:
    return any(block is other for other in claimed.values())


def _share_with_row_neighbours(
    images: list[PdfImage], claimed: dict[int, Block], across: frozenset[int] = frozenset()
) -> None:
    """Images side by side in one row share the caption under the row, which may start
    under the first of them only (a short caption is no wider than its first column).
    `across`: images whose caption is on another page (under the row, in reading order)."""
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
            under = other.index in across or block.y0 >= max(y1, oy1) - 5
            if same_row and near and under:
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
