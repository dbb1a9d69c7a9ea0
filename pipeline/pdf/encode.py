"""Describe an image XObject like `pdfimages -list` and write it like `pdfimages -all`.

DCT, JPX and JBIG2 keep their original encoded bytes (.jpg, .jp2, .jb2e). When those bytes
would not look as the page shows them (CMYK JPEGs, which OpenCV and Pillow show inverted;
palettes and inks outside the JPX file; Decode-inverted images; JBIG2, which little else
reads), `file` is a PNG rendition and the original stays beside it (`original_file`).
Everything else is decoded by MuPDF (Decode arrays, palettes, 16-bit) and written as PNG:
gray and RGB samples as they are (like pdfimages, no ICC transform), CMYK by the naive
formula, palettes and inks expanded by MuPDF. A soft mask is applied into an RGBA PNG
beside the image. An image MuPDF cannot decode is written raw and flagged "undecodable".
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.files import Placed
from pipeline.pdf.errors import mupdf_errors
from pipeline.pdf.png import PngRows, rows_per_block
from pipeline.pdf.writer import FileWriter

if TYPE_CHECKING:
    import numpy as np
    import pymupdf

_ENCODING = {"DCTDecode": "jpeg", "DCT": "jpeg", "JPXDecode": "jpx", "JBIG2Decode": "jbig2",
             "CCITTFaxDecode": "ccitt", "CCF": "ccitt"}  # fmt: skip
_ORIGINAL_EXT = {"jpeg": "jpg", "jpx": "jp2", "jbig2": "jb2e"}
_COLORSPACE = {"DeviceGray": "gray", "G": "gray", "CalGray": "gray", "DeviceRGB": "rgb",
               "RGB": "rgb", "CalRGB": "rgb", "DeviceCMYK": "cmyk", "CMYK": "cmyk",
               "Indexed": "index", "I": "index", "ICCBased": "icc", "DeviceN": "devn",
               "Separation": "sep", "Lab": "lab", "Pattern": "pattern"}  # fmt: skip


@dataclass
class ImageFacts:
    width: int
    height: int
    encoding: str  # pdfimages -list "enc"
    colorspace: str  # pdfimages -list "color"
    bpc: int
    smask: int = 0  # xref of the soft mask, 0 when none
    stencil: bool = False
    decode_inverted: bool = False
    plain_color: bool = True  # gray or RGB: an image viewer shows the encoded file right
    inflate_only: bool = False  # 8-bit gray/RGB, Flate alone: zlib gives the pixels
    components: int = 0

    @property
    def keeps_original(self) -> bool:
        return self.encoding in _ORIGINAL_EXT

    @property
    def original_looks_right(self) -> bool:
        """CMYK (Adobe-inverted) JPEGs, palettes in JPX, Decode-inverted images and JBIG2
        (which nothing else reads) also get a PNG as the page shows them."""
        return self.encoding != "jbig2" and self.plain_color and not self.decode_inverted

    @property
    def decoded_bytes(self) -> int:
        """Bytes of the image decoded to gray or RGB: what holding its pixels costs.
        Other spaces are counted at four bytes a pixel."""
        if self.stencil or self.components in (1, 3):  # gray or RGB, ICC-tagged or not
            per_pixel = 1 if self.stencil else self.components
        else:  # CMYK, palettes and inks (converted to RGB), colours inside a JPX file
            per_pixel = 4
        return self.width * self.height * per_pixel

    @property
    def written_without_decoding(self) -> bool:
        """Whether the file is written without holding the decoded image: the encoded
        original kept as it is, or Flate samples inflated and written block by block."""
        if self.smask:
            return False
        return (self.keeps_original and self.original_looks_right) or self.inflate_only


@dataclass
class Written:
    """The files of one image, each a future until written: where it landed and its sha256
    (a file is never replaced, so new bytes may land beside an existing one)."""

    file: Future[Placed]
    flags: list[str] = field(default_factory=list)
    rgba_file: Future[Placed] | None = None
    original_file: Future[Placed] | None = None


def image_facts(doc: pymupdf.Document, xref: int) -> ImageFacts:
    """Size, encoding and colour space of image XObject `xref`, from its dictionary."""
    import pymupdf
    from pymupdf import mupdf

    obj = mupdf.pdf_load_object(pymupdf._as_pdf_document(doc), xref)
    get = mupdf.pdf_dict_gets

    def number(*keys: str, default: int = 0) -> int:
        for key in keys:
            value = get(obj, key)
            if mupdf.pdf_is_number(value):
                return mupdf.pdf_to_int(value)
        return default

    filters = get(obj, "Filter")
    only_flate = (mupdf.pdf_is_name(filters) and mupdf.pdf_to_name(filters) == "FlateDecode") or (
        mupdf.pdf_is_array(filters)
        and mupdf.pdf_array_len(filters) == 1
        and mupdf.pdf_to_name(mupdf.pdf_array_get(filters, 0)) == "FlateDecode"
    )
    if mupdf.pdf_is_array(filters) and mupdf.pdf_array_len(filters):
        filters = mupdf.pdf_array_get(filters, mupdf.pdf_array_len(filters) - 1)
    encoding = _ENCODING.get(mupdf.pdf_to_name(filters) if mupdf.pdf_is_name(filters) else "")
    stencil = mupdf.pdf_to_bool(get(obj, "ImageMask")) or mupdf.pdf_to_bool(get(obj, "IM"))
    space = get(obj, "ColorSpace")
    if not space.m_internal:
        space = get(obj, "CS")
    icc_components = 0
    if mupdf.pdf_is_array(space) and mupdf.pdf_array_len(space):
        if mupdf.pdf_array_len(space) > 1:
            icc_components = mupdf.pdf_to_int(get(mupdf.pdf_array_get(space, 1), "N"))
        space = mupdf.pdf_array_get(space, 0)
    space_name = mupdf.pdf_to_name(space) if mupdf.pdf_is_name(space) else ""
    decode = get(obj, "Decode")
    inverted = (
        mupdf.pdf_is_array(decode)
        and mupdf.pdf_array_len(decode) >= 2
        and mupdf.pdf_to_real(mupdf.pdf_array_get(decode, 0))
        > mupdf.pdf_to_real(mupdf.pdf_array_get(decode, 1))
    )
    smask = get(obj, "SMask")
    params = get(obj, "DecodeParms")
    components = {"gray": 1, "rgb": 3}.get(
        _COLORSPACE.get(space_name, ""), icc_components if space_name == "ICCBased" else 0
    )
    colorspace = "-" if stencil else _COLORSPACE.get(space_name, space_name.lower() or "-")
    return ImageFacts(
        width=number("Width", "W"),
        height=number("Height", "H"),
        encoding=encoding or "image",
        colorspace=colorspace,
        bpc=1 if stencil else number("BitsPerComponent", "BPC", default=8),
        smask=mupdf.pdf_to_num(smask) if mupdf.pdf_is_indirect(smask) else 0,
        stencil=bool(stencil),
        decode_inverted=bool(inverted),
        plain_color=colorspace in ("gray", "rgb")
        or (colorspace == "icc" and icc_components != 4)
        or (encoding == "jpx" and not space.m_internal),  # colours inside the JPX file
        inflate_only=bool(only_flate)
        and components in (1, 3)
        and not stencil
        and number("BitsPerComponent", "BPC", default=8) == 8
        and not decode.m_internal
        and not (mupdf.pdf_is_dict(params) and mupdf.pdf_dict_len(params))
        and not (mupdf.pdf_is_array(params) and mupdf.pdf_array_len(params)),
        components=components,
    )


def write_image(
    doc: pymupdf.Document, xref: int, facts: ImageFacts, stem: Path, writer: FileWriter
) -> Written:
    """Write image `xref` as `stem`.<ext> (the files are futures until written).

    DCT/JPX/JBIG2 keep their encoded bytes (.jpg/.jp2/.jb2e); when those would not look
    as the page shows them, `file` is a PNG rendition and the original is `original_file`.
    Decoded pixels are held only once `writer.room` allows (see FileWriter).
    """
    flags: list[str] = []
    original: Path | None = None
    original_written: Future[Placed] | None = None
    if facts.keeps_original:
        data = _original_bytes(doc, xref)
        original = stem.with_name(f"{stem.name}.{_ORIGINAL_EXT[facts.encoding]}")
        if not _looks_encoded(facts.encoding, data):
            flags.append("undecodable")
        original_written = writer.write(original, data)
        if facts.original_looks_right or "undecodable" in flags:
            written = Written(original_written, flags)
            if facts.smask and "undecodable" not in flags:
                _write_rgba(doc, xref, facts, stem, writer, written, None)
            return written
    if facts.inflate_only and not facts.smask and original is None:
        path = stem.with_name(f"{stem.name}.png")
        raw = doc.xref_stream_raw(xref) or b""
        # Inflating and PNG-encoding both run on the writer's thread, beside MuPDF's work,
        # a block of rows at a time: the image is never whole in memory.
        rows = _inflated_rows(raw, facts)
        return Written(writer.write(path, rows, cost=len(raw)), flags)
    writer.room(facts.decoded_bytes)
    if facts.colorspace == "cmyk" and not facts.smask:
        deferred = _deferred_cmyk(doc, xref)
        if deferred is not None:
            path = stem.with_name(f"{stem.name}.png")
            future = writer.write(path, deferred, cost=facts.decoded_bytes)
            return Written(future, flags, original_file=original_written)
    try:
        pixels = decoded_pixels(doc, xref)
    except mupdf_errors():
        if original_written is not None:
            flags.append("undecodable")
            return Written(original_written, flags)
        path = stem.with_name(f"{stem.name}.bin")
        flags.append("undecodable")
        return Written(writer.write(path, doc.xref_stream_raw(xref) or b""), flags)
    path = stem.with_name(f"{stem.name}.png")
    bilevel = facts.bpc == 1 and pixels.ndim == 2
    future = writer.write(path, pixels, bilevel, cost=pixels.nbytes)
    written = Written(future, flags, original_file=original_written)
    if facts.smask:
        _write_rgba(doc, xref, facts, stem, writer, written, pixels)
    return written


def _deferred_cmyk(doc: pymupdf.Document, xref: int) -> Callable[[], PngRows] | None:
    """MuPDF decodes here; the colour conversion and PNG run on the writer's thread."""
    import pymupdf

    try:
        pix = pymupdf.Pixmap(doc, xref)
    except mupdf_errors():
        return None
    if pix.alpha or pix.colorspace is None or pix.colorspace.n != 4:
        return None
    samples, width, height = pixmap_samples(pix), pix.width, pix.height
    return lambda: _cmyk_rows(samples, width, height)


def _inflated_rows(raw: bytes, facts: ImageFacts) -> PngRows:
    """The Flate samples as PNG rows, inflated a block at a time.

    Short or broken data is padded with black, as a renderer shows the missing rows.
    """
    import numpy as np

    row_bytes = facts.width * facts.components
    step = rows_per_block(row_bytes)

    def blocks() -> Iterator[np.ndarray]:
        inflater = zlib.decompressobj()
        pending = raw
        for top in range(0, facts.height, step):
            count = min(step, facts.height - top)
            want = count * row_bytes
            data = b""
            try:
                while len(data) < want and (pending or not inflater.eof):
                    piece = inflater.decompress(pending, want - len(data))
                    pending = inflater.unconsumed_tail
                    if not piece:
                        break
                    data += piece
            except zlib.error:
                pending = b""
            block = np.zeros(want, dtype=np.uint8)
            block[: len(data)] = np.frombuffer(data, dtype=np.uint8)
            yield block.reshape(count, row_bytes)

    # The samples are gray or RGB, in the order PNG wants them.
    return PngRows.eight_bit(facts.width, facts.height, facts.components, blocks)


def _write_rgba(
    doc: pymupdf.Document,
    xref: int,
    facts: ImageFacts,
    stem: Path,
    writer: FileWriter,
    written: Written,
    pixels: np.ndarray | None,
) -> None:
    try:
        base = pixels if pixels is not None else decoded_pixels(doc, xref)
        mask = decoded_pixels(doc, facts.smask)
    except mupdf_errors():
        return
    path = stem.with_name(f"{stem.name}-rgba.png")
    cost = 0 if pixels is not None else base.nbytes
    written.rgba_file = writer.write(path, lambda: _rgba_rows(base, mask), cost=cost + mask.nbytes)
    written.flags.append("smask")


def _original_bytes(doc: pymupdf.Document, xref: int) -> bytes:
    """The image's own encoded bytes: the stream with any outer filters (Flate, ...) removed."""
    import pymupdf
    from pymupdf import mupdf

    pdf = pymupdf._as_pdf_document(doc)
    obj = mupdf.pdf_load_object(pdf, xref)
    filters = mupdf.pdf_dict_gets(obj, "Filter")
    if mupdf.pdf_is_array(filters) and mupdf.pdf_array_len(filters) > 1:
        # extract_image stops decoding before DCT/JPX/JBIG2 and returns their bytes.
        try:
            extracted = doc.extract_image(xref)
        except mupdf_errors():
            extracted = None
        if extracted and extracted.get("image"):
            return extracted["image"]
    return doc.xref_stream_raw(xref) or b""


def _looks_encoded(encoding: str, data: bytes) -> bool:
    """A cheap header check (decoding every JPEG to find the rare broken one costs too much)."""
    if encoding == "jpeg":
        return data[:2] == b"\xff\xd8"
    if encoding == "jpx":
        return data[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or data[:4] == b"\xff\x4f\xff\x51"
    return bool(data)


def decoded_pixels(doc: pymupdf.Document, xref: int) -> np.ndarray:
    """The decoded image as a gray (h, w) or BGR (h, w, 3) array, as the page shows it.

    Stencil masks come out black where they paint, on white; CMYK, Lab, DeviceN and
    other spaces are converted to RGB by MuPDF.
    """
    import pymupdf

    pix = pymupdf.Pixmap(doc, xref)
    if pix.colorspace is None:  # a stencil mask: alpha only
        alpha = pixmap_samples(pix).reshape(pix.height, pix.width)
        return 255 - alpha
    if pix.alpha:
        pix = pymupdf.Pixmap(pix, 0)
    name = pix.colorspace.name
    # Gray and RGB samples (ICC-tagged or not) are written as they are, like pdfimages;
    # an ICC transform per image costs more than everything else together. MuPDF leaves
    # palettes (Indexed) and inks (Separation, DeviceN) unexpanded: those are converted.
    if pix.n == 4 and name.startswith(("DeviceCMYK", "ICCBased(CMYK")):
        return _cmyk_to_bgr(pixmap_samples(pix), pix.width, pix.height)
    if not name.startswith(("DeviceGray", "DeviceRGB", "ICCBased(Gray", "ICCBased(RGB")):
        pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
    pixels = pixmap_samples(pix)
    if pix.n == 1:
        return pixels.reshape(pix.height, pix.width)
    return pixels.reshape(pix.height, pix.width, 3)[:, :, ::-1]


def pixmap_samples(pix: pymupdf.Pixmap) -> np.ndarray:
    """The pixmap's samples as a flat read-only uint8 array, without copying them.

    `pix.samples` copies (a 432 MB image would be held twice); this array views MuPDF's
    own buffer and keeps the pixmap alive for as long as the array lives.
    """
    import ctypes

    import numpy as np

    size = pix.stride * pix.height
    if size == 0:
        return np.zeros(0, dtype=np.uint8)
    buffer = (ctypes.c_ubyte * size).from_address(pix.samples_ptr)
    buffer._pixmap = pix  # type: ignore[attr-defined]  # the owner of the memory
    view = np.frombuffer(buffer, dtype=np.uint8)
    view.flags.writeable = False
    return view


def _cmyk_blocks(samples: np.ndarray, width: int, height: int) -> Iterator[tuple[int, np.ndarray]]:
    """Naive CMYK -> RGB, as most viewers show it; 5-10x faster than an ICC transform.
    (top row, RGB block) a block of rows at a time, so the conversion holds one block."""
    import numpy as np

    cmyk = samples.reshape(height, width, 4)
    step = rows_per_block(width * 4)
    for top in range(0, height, step):
        white = 255 - cmyk[top : top + step].astype(np.uint16)
        k = white[:, :, 3]
        rgb = np.empty((*white.shape[:2], 3), dtype=np.uint8)
        for channel in range(3):  # R from C, G from M, B from Y
            product = white[:, :, channel] * k + 128
            rgb[:, :, channel] = (product + (product >> 8)) >> 8  # exact round(x * k / 255)
        yield top, rgb


def _cmyk_to_bgr(samples: np.ndarray, width: int, height: int) -> np.ndarray:
    import numpy as np

    bgr = np.empty((height, width, 3), dtype=np.uint8)
    for top, rgb in _cmyk_blocks(samples, width, height):
        bgr[top : top + len(rgb)] = rgb[:, :, ::-1]
    return bgr


def _cmyk_rows(samples: np.ndarray, width: int, height: int) -> PngRows:
    def blocks() -> Iterator[np.ndarray]:
        for _top, rgb in _cmyk_blocks(samples, width, height):
            yield rgb.reshape(len(rgb), -1)

    return PngRows.eight_bit(width, height, 3, blocks)


def _rgba_rows(base: np.ndarray, mask: np.ndarray) -> PngRows:
    """RGBA rows: the image with its soft mask as alpha (resized to the image if needed)."""
    import numpy as np

    if mask.ndim == 3:
        mask = mask[:, :, 1]
    height, width = base.shape[:2]
    if mask.shape[:2] != (height, width):
        import cv2

        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    step = rows_per_block(width * 4)

    def blocks() -> Iterator[np.ndarray]:
        for top in range(0, height, step):
            part = base[top : top + step]
            rgba = np.empty((len(part), width, 4), dtype=np.uint8)
            rgba[:, :, :3] = part[:, :, ::-1] if part.ndim == 3 else part[:, :, None]
            rgba[:, :, 3] = mask[top : top + step]
            yield rgba.reshape(len(part), -1)

    return PngRows.eight_bit(width, height, 4, blocks)
