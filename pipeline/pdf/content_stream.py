"""Walk a page's content streams for the images it draws, with the matrix each is drawn with.

PyMuPDF's `get_images()` lists resources, not draws: it misses inline images (BI ID EI),
images drawn only inside soft-mask groups, and lists images no page draws. This walker
follows what a renderer does: page contents, Form XObjects (recursively), soft-mask groups
set by `gs`, tiling patterns used by `scn`, and annotation appearance streams. It only
scans for the operators that matter (q Q cm Do gs scn BI), skipping strings and comments.
Glyph procedures of Type 3 fonts are not run: pdfimages does not list images drawn in
glyphs either (its output device does not interpret Type 3 characters).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.budgets import DEFAULT_LIMITS, WorkMeter
from pipeline.pdf.content_stream_syntax import DELIM, END, NUM, STRING, TEXT_OBJECT
from pipeline.pdf.errors import mupdf_errors

if TYPE_CHECKING:
    import pymupdf

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_MAX_DEPTH = 12
_CHARGE_EVERY = 4096  # operators counted locally between charges to the work meter

_CORE_OPS = (
    rb"|" + STRING  # strings and comments are skipped whole: "(Do)" is not an operator
    + rb"|%[^\r\n]*"
    + rb"|(?<![^" + DELIM + rb"])(?P<cm>(?:" + NUM + rb"\s+){6})cm" + END
    + rb"|/(?P<name>[^" + DELIM + rb"]+)\s*(?P<nameop>Do|gs|scn|SCN)" + END
    + rb"|(?<![^" + DELIM + rb"])(?P<op>q|Q|BI)" + END
)  # fmt: skip
_SCAN = re.compile(TEXT_OBJECT + _CORE_OPS, re.S)
TOKEN = re.compile(
    rb"\s*(" + STRING + rb"|<<|>>|<[0-9A-Fa-f\s]*>|[\[\]{}]|/[^" + DELIM + rb"]*|[^"
    rb"" + DELIM + rb"]+)",
    re.S,
)
_EI = re.compile(rb"\sEI(?=[\s]|$)")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class InlineImage:
    """A `BI <dict> ID <data> EI` image: the raw dictionary text and encoded data."""

    dict_text: bytes
    data: bytes
    resources: Any  # mupdf PdfObj of the resources it was drawn with (named colour spaces)


@dataclass(frozen=True)
class Draw:
    """One image painting operation."""

    xref: int | None  # None for inline images
    inline: InlineImage | None
    ctm: Matrix  # maps the unit square to PDF user space of the page
    key: tuple[Any, ...]  # identity: ("x", xref) or ("i", stream id, offset)
    in_smask: bool = False


def multiply(m: Matrix, n: Matrix) -> Matrix:
    """m then n (row-vector convention, as in PDF: CTM' = M x CTM)."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t,
            e * q + f * s + u)  # fmt: skip


def transform_rect(m: Matrix, rect: tuple[float, float, float, float]) -> tuple[float, ...]:
    x0, y0, x1, y1 = rect
    a, b, c, d, e, f = m
    xs, ys = [], []
    for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        xs.append(a * x + c * y + e)
        ys.append(b * x + d * y + f)
    return (min(xs), min(ys), max(xs), max(ys))


class PageWalker:
    """Collect image draws page by page; forms drawn on many pages are parsed once.

    Every draw made, operator scanned and stream byte decoded is charged to `meter`, which
    stops the walk with WorkBudgetExceeded before a hostile PDF can exhaust memory or time.
    """

    def __init__(self, doc: pymupdf.Document, meter: WorkMeter | None = None) -> None:
        import pymupdf
        from pymupdf import mupdf

        self.doc = doc
        self.meter = meter or WorkMeter(doc.name or "<pdf>", DEFAULT_LIMITS)
        self.mupdf = mupdf
        self.pdf = pymupdf._as_pdf_document(doc)
        # form xref -> draws relative to the form's own space (before its /Matrix)
        self._form_cache: dict[tuple[int, bool, int], list[Draw]] = {}
        self._stack: set[int] = set()

    # -- PDF object helpers -------------------------------------------------------------
    def _get(self, obj: Any, key: str) -> Any:
        return self.mupdf.pdf_dict_gets(obj, key)

    def _name(self, obj: Any) -> str:
        return self.mupdf.pdf_to_name(obj) if self.mupdf.pdf_is_name(obj) else ""

    def _matrix(self, obj: Any) -> Matrix:
        m = self.mupdf
        if not m.pdf_is_array(obj) or m.pdf_array_len(obj) != 6:
            return IDENTITY
        return tuple(m.pdf_to_real(m.pdf_array_get(obj, i)) for i in range(6))  # type: ignore[return-value]

    def _rect(self, obj: Any) -> tuple[float, float, float, float] | None:
        m = self.mupdf
        if not m.pdf_is_array(obj) or m.pdf_array_len(obj) != 4:
            return None
        x0, y0, x1, y1 = (m.pdf_to_real(m.pdf_array_get(obj, i)) for i in range(4))
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    def _stream_bytes(self, obj: Any) -> bytes:
        m = self.mupdf
        try:
            data = bytes(m.fz_buffer_extract(m.pdf_load_stream(obj)))
        except mupdf_errors():
            return b""
        self.meter.charge("bytes", len(data))
        return data

    def _lookup(self, resources: Any, category: str, name: bytes) -> Any:
        if resources is None or not self.mupdf.pdf_is_dict(resources):
            return None
        group = self._get(resources, category)
        if not self.mupdf.pdf_is_dict(group):
            return None
        text = _NAME_ESCAPE.sub(lambda mt: bytes([int(mt.group(1), 16)]), name)
        obj = self._get(group, text.decode("latin-1"))
        return obj if obj.m_internal else None

    # -- public -----------------------------------------------------------------------------
    def page_draws(self, page_index: int) -> list[Draw]:
        m = self.mupdf
        self.meter.start_page(page_index + 1)
        page_obj = m.pdf_lookup_page_obj(self.pdf, page_index)
        resources = m.pdf_dict_get_inheritable(page_obj, m.pdf_new_name("Resources"))
        contents = self._get(page_obj, "Contents")
        chunks: list[bytes] = []
        if m.pdf_is_array(contents):
            for i in range(m.pdf_array_len(contents)):
                chunks.append(self._stream_bytes(m.pdf_array_get(contents, i)))
        elif m.pdf_is_stream(contents):
            chunks.append(self._stream_bytes(contents))
        stream_id = ("page", m.pdf_to_num(page_obj) or page_index)
        draws = list(self._walk(b"\n".join(chunks), resources, IDENTITY, stream_id, 0, False))
        draws.extend(self._annotation_draws(page_obj))
        return draws

    # -- walking ------------------------------------------------------------------------------
    def _walk(
        self, data: bytes, resources: Any, base: Matrix, stream_id: Any, depth: int, smask: bool
    ) -> Iterator[Draw]:
        if not _may_draw_images(data):
            return
        ctm = base
        stack: list[Matrix] = []
        pos = 0
        scan = _SCAN.search
        scanned = 0
        while True:
            match = scan(data, pos)
            if match is None:
                self.meter.charge("operators", scanned)
                return
            scanned += 1
            if scanned == _CHARGE_EVERY:
                self.meter.charge("operators", scanned)
                scanned = 0
            pos = match.end()
            op = match.group("op")
            if op == b"q":
                stack.append(ctm)
            elif op == b"Q":
                if stack:
                    ctm = stack.pop()
            elif op == b"BI":
                image, pos = _read_inline(data, pos)
                if image is not None:
                    self.meter.charge("draws", 1)
                    yield Draw(
                        None,
                        InlineImage(image[0], image[1], resources),
                        ctm,
                        ("i", stream_id, match.start()),
                        smask,
                    )
            elif match.group("cm") is not None:
                numbers = match.group("cm").split()
                try:
                    cm = tuple(float(v) for v in numbers)
                except ValueError:
                    continue
                ctm = multiply(cm, ctm)  # type: ignore[arg-type]
            elif match.group("nameop") is not None:
                yield from self._named(
                    match.group("nameop"), match.group("name"), resources, ctm, depth, smask
                )

    def _named(
        self, op: bytes, name: bytes, resources: Any, ctm: Matrix, depth: int, smask: bool
    ) -> Iterator[Draw]:
        m = self.mupdf
        if depth >= _MAX_DEPTH:
            return
        if op == b"Do":
            obj = self._lookup(resources, "XObject", name)
            if obj is None:
                return
            subtype = self._name(self._get(obj, "Subtype"))
            if subtype == "Image":
                xref = m.pdf_to_num(obj)
                if xref:
                    self.meter.charge("draws", 1)
                    yield Draw(xref, None, ctm, ("x", xref), smask)
            elif subtype == "Form":
                yield from self._form(obj, ctm, depth, smask, resources)
        elif op == b"gs":
            state = self._lookup(resources, "ExtGState", name)
            if state is None:
                return
            mask = self._get(state, "SMask")
            if m.pdf_is_dict(mask):
                group = self._get(mask, "G")
                if m.pdf_is_stream(group):
                    yield from self._form(group, ctm, depth, True, resources)
        else:  # scn / SCN with a pattern name
            pattern = self._lookup(resources, "Pattern", name)
            if pattern is None or not m.pdf_is_stream(pattern):
                return  # shading patterns are dicts; only tiling patterns have content
            matrix = self._matrix(self._get(pattern, "Matrix"))
            # Patterns live in the default space of the page (or form) they are used in.
            yield from self._form(pattern, matrix, depth, smask, resources, apply_matrix=False)

    def _form(
        self,
        obj: Any,
        ctm: Matrix,
        depth: int,
        smask: bool,
        parent_resources: Any,
        *,
        apply_matrix: bool = True,
    ) -> Iterator[Draw]:
        m = self.mupdf
        xref = m.pdf_to_num(obj)
        if xref in self._stack:
            return
        own = self._get(obj, "Resources")
        # A form (or glyph procedure) without resources uses its parent's: its draws then
        # depend on them, and are cached only when those are a shared object.
        parent = m.pdf_to_num(parent_resources) if parent_resources is not None else 0
        cacheable = bool(xref) and (m.pdf_is_dict(own) or parent > 0)
        key = (xref, smask, 0 if m.pdf_is_dict(own) else parent)
        local = self._form_cache.get(key) if cacheable else None
        if local is None:
            self._stack.add(xref)
            try:
                resources = own if m.pdf_is_dict(own) else parent_resources
                data = self._stream_bytes(obj)
                local = list(
                    self._walk(data, resources, IDENTITY, ("form", xref), depth + 1, smask)
                )
            finally:
                self._stack.discard(xref)
            if cacheable:
                self._form_cache[key] = local
        matrix = self._matrix(self._get(obj, "Matrix")) if apply_matrix else IDENTITY
        outer = multiply(matrix, ctm)
        self.meter.charge("draws", len(local))  # before any of them is made
        for draw in local:
            yield Draw(draw.xref, draw.inline, multiply(draw.ctm, outer), draw.key, draw.in_smask)

    def _annotation_draws(self, page_obj: Any) -> Iterator[Draw]:
        m = self.mupdf
        annots = self._get(page_obj, "Annots")
        if not m.pdf_is_array(annots):
            return
        for i in range(m.pdf_array_len(annots)):
            annot = m.pdf_array_get(annots, i)
            if not m.pdf_is_dict(annot) or m.pdf_to_int(self._get(annot, "F")) & 2:
                continue  # hidden
            if self._name(self._get(annot, "Subtype")) in ("Popup", "Link"):
                continue
            normal = self._get(self._get(annot, "AP"), "N")
            if m.pdf_is_dict(normal) and not m.pdf_is_stream(normal):
                state = self._name(self._get(annot, "AS"))
                normal = self._get(normal, state) if state else None
            if normal is None or not m.pdf_is_stream(normal):
                continue
            rect = self._rect(self._get(annot, "Rect"))
            bbox = self._rect(self._get(normal, "BBox"))
            if rect is None or bbox is None:
                continue
            matrix = self._matrix(self._get(normal, "Matrix"))
            tx0, ty0, tx1, ty1 = transform_rect(matrix, bbox)
            if tx1 - tx0 <= 0 or ty1 - ty0 <= 0:
                continue
            sx = (rect[2] - rect[0]) / (tx1 - tx0)
            sy = (rect[3] - rect[1]) / (ty1 - ty0)
            fit = (sx, 0.0, 0.0, sy, rect[0] - tx0 * sx, rect[1] - ty0 * sy)
            yield from self._form(normal, fit, 0, False, None)


def _may_draw_images(data: bytes) -> bool:
    """Cheap test before the scan: a stream with none of these operators draws no image."""
    return b"Do" in data or b"BI" in data or b"gs" in data or b"scn" in data or b"SCN" in data


def _read_inline(data: bytes, pos: int) -> tuple[tuple[bytes, bytes] | None, int]:
    """Parse `<dict> ID <data> EI` after a BI at `pos`: ((dict text, data), position after EI)."""
    start = pos
    length = len(data)
    while True:
        token = TOKEN.match(data, pos)
        if token is None:
            return None, length
        pos = token.end()
        if token.group(1) == b"ID":
            break
        if pos >= length:
            return None, length
    dict_text = data[start : token.start(1)]
    begin = pos + 1  # one white-space byte separates ID from the data
    expected = _raw_length(dict_text)
    if expected is not None:
        end = begin + expected
        tail = _EI.match(data, end) or re.compile(rb"\s*EI(?=\s|$)").match(data, end)
        if tail is not None:
            return (dict_text, data[begin:end]), tail.end()
    search = begin
    while True:
        found = _EI.search(data, search)
        if found is None:
            return (dict_text, data[begin:]), length
        after = data[found.end() : found.end() + 40]
        if _plausible_after_ei(after):
            return (dict_text, data[begin : found.start()]), found.end()
        search = found.end()


def _plausible_after_ei(after: bytes) -> bool:
    """Text after a candidate EI should look like content-stream operators, not binary."""
    if not after.strip():
        return True
    return all(32 <= byte < 127 or byte in b"\r\n\t\f\x00" for byte in after[:32])


_INLINE_KEYS = {"W": "Width", "H": "Height", "BPC": "BitsPerComponent", "CS": "ColorSpace",
                "F": "Filter", "IM": "ImageMask", "L": "Length"}  # fmt: skip


def _raw_length(dict_text: bytes) -> int | None:
    """Byte length of an unfiltered inline image's data, or None when it is filtered."""
    tokens = [t.group(1) for t in TOKEN.finditer(dict_text)]
    values: dict[str, bytes] = {}
    for key, value in zip(tokens, tokens[1:], strict=False):
        if key.startswith(b"/"):
            name = key[1:].decode("latin-1")
            values[_INLINE_KEYS.get(name, name)] = value
    if "Filter" in values:
        return None
    try:
        width = int(values["Width"])
        height = int(values["Height"])
    except (KeyError, ValueError):
        return None
    if values.get("ImageMask") == b"true":
        return height * ((width + 7) // 8)
    bpc = int(values.get("BitsPerComponent", b"8"))
    space = values.get("ColorSpace", b"/G")
    components = {b"/G": 1, b"/DeviceGray": 1, b"/RGB": 3, b"/DeviceRGB": 3, b"/CMYK": 4,
                  b"/DeviceCMYK": 4, b"[": 1}.get(space)  # fmt: skip
    if components is None:
        return None  # a named colour space: component count unknown here
    return height * ((width * components * bpc + 7) // 8)
