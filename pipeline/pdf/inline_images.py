"""Inline images (BI <dict> ID <data> EI) made into ordinary image objects for decoding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.pdf.content_stream import TOKEN

if TYPE_CHECKING:
    import pymupdf

_INLINE_KEYS = {b"W": b"Width", b"H": b"Height", b"BPC": b"BitsPerComponent",
                b"CS": b"ColorSpace", b"F": b"Filter", b"DP": b"DecodeParms", b"IM": b"ImageMask",
                b"D": b"Decode", b"I": b"Interpolate", b"L": b"Length"}  # fmt: skip
_INLINE_VALUES = {b"G": b"DeviceGray", b"RGB": b"DeviceRGB", b"CMYK": b"DeviceCMYK",
                  b"I": b"Indexed", b"AHx": b"ASCIIHexDecode", b"A85": b"ASCII85Decode",
                  b"LZW": b"LZWDecode", b"Fl": b"FlateDecode", b"RL": b"RunLengthDecode",
                  b"CCF": b"CCITTFaxDecode", b"DCT": b"DCTDecode"}  # fmt: skip


def materialize_inline(doc: pymupdf.Document, dict_text: bytes, data: bytes, resources: Any) -> int:
    """Store an inline image as a new image XObject in the (in-memory) document; its xref.

    The document is never saved, so this only lets MuPDF decode it like any other image.
    """
    import pymupdf
    from pymupdf import mupdf

    pdf = pymupdf._as_pdf_document(doc)
    tokens = [t.group(1) for t in TOKEN.finditer(dict_text)]
    out: list[bytes] = [b"<</Type/XObject/Subtype/Image"]
    depth = 0
    key: bytes | None = None
    for token in tokens:
        if depth == 0 and key is None and token.startswith(b"/"):
            key = _INLINE_KEYS.get(token[1:], token[1:])
            if key == b"Length":
                key = b"InlineLength"  # the stream's own Length is set by MuPDF
            out.append(b"/" + key)
            continue
        if token.startswith(b"/") and key in (b"ColorSpace", b"Filter"):
            name = token[1:]
            if name in _INLINE_VALUES:
                token = b"/" + _INLINE_VALUES[name]
            elif key == b"ColorSpace":
                token = _named_colorspace(mupdf, resources, name) or token
        out.append(b" " + token)
        if token in (b"[", b"<<"):
            depth += 1
        elif token in (b"]", b">>"):
            depth -= 1
        if depth == 0:
            key = None
    out.append(b">>")
    xref = doc.get_new_xref()
    doc.update_object(xref, b"".join(out).decode("latin-1"))
    obj = mupdf.pdf_load_object(pdf, xref)
    mupdf.pdf_update_stream(pdf, obj, mupdf.fz_new_buffer_from_copied_data(data), 1)
    return xref


def _named_colorspace(mupdf: Any, resources: Any, name: bytes) -> bytes | None:
    """`/CS0` in an inline image refers to the ColorSpace resources of its content stream."""
    import pymupdf

    if resources is None or not mupdf.pdf_is_dict(resources):
        return None
    spaces = mupdf.pdf_dict_gets(resources, "ColorSpace")
    if not mupdf.pdf_is_dict(spaces):
        return None
    space = mupdf.pdf_dict_gets(spaces, name.decode("latin-1"))
    if not space.m_internal:
        return None
    if mupdf.pdf_is_indirect(space):
        return f"{mupdf.pdf_to_num(space)} 0 R".encode()
    buffer = pymupdf.JM_object_to_buffer(space, 0, 0)
    return bytes(mupdf.fz_buffer_extract(buffer))
