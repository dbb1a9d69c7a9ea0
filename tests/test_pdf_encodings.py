"""Each image encoding comes out as pdfimages -all writes it, and looks as the page shows it."""

from __future__ import annotations

import hashlib
import io
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.pdf.images import extract_pdf_images
from pipeline.pdf.record import PdfImage
from tests import phantoms
from tests.test_pdf_raw import RawPdf, gradient


def one_image_pdf(tmp_path: Path, dictionary: str, data: bytes) -> Path:
    pdf = RawPdf()
    xref = pdf.add_object(dictionary, data)
    pdf.add_page(b"q 200 0 0 150 50 50 cm /Im0 Do Q", f"<</XObject<</Im0 {xref} 0 R>>>>")
    return pdf.save(tmp_path / "one.pdf")


def extract_one(tmp_path: Path, dictionary: str, data: bytes) -> PdfImage:
    pdf = one_image_pdf(tmp_path, dictionary, data)
    [image] = extract_pdf_images(pdf, tmp_path / "out", derived=False)
    assert image.file is not None and image.file.exists()
    assert image.sha256 == hashlib.sha256(image.file.read_bytes()).hexdigest()
    return image


def read(path: Path) -> np.ndarray:
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert pixels is not None, path
    return pixels


def image_dict(width: int, height: int, rest: str) -> str:
    return f"<</Type/XObject/Subtype/Image/Width {width}/Height {height}{rest}>>"


def test_jpeg_keeps_its_original_bytes(tmp_path: Path) -> None:
    jpeg = cv2.imencode(".jpg", phantoms.chest_xray_frontal(96, seed=4))[1].tobytes()
    image = extract_one(
        tmp_path,
        image_dict(96, 96, "/BitsPerComponent 8/ColorSpace/DeviceGray/Filter/DCTDecode"),
        jpeg,
    )
    assert (image.encoding, image.colorspace) == ("jpeg", "gray")
    assert image.file.suffix == ".jpg" and image.file.read_bytes() == jpeg
    assert (image.width, image.height) == (96, 96)


def test_jpx_keeps_its_original_bytes(tmp_path: Path) -> None:
    jp2 = cv2.imencode(".jp2", gradient())[1].tobytes()
    image = extract_one(tmp_path, image_dict(64, 48, "/BitsPerComponent 8/Filter/JPXDecode"), jp2)
    assert image.encoding == "jpx" and image.file.suffix == ".jp2"
    assert image.file.read_bytes() == jp2


def test_flate_rgb_is_a_lossless_png(tmp_path: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    image = extract_one(
        tmp_path,
        image_dict(30, 40, "/BitsPerComponent 8/ColorSpace/DeviceRGB/Filter/FlateDecode"),
        zlib.compress(rgb.tobytes()),
    )
    assert (image.encoding, image.colorspace, image.file.suffix) == ("image", "rgb", ".png")
    assert np.array_equal(read(image.file)[:, :, ::-1], rgb)


def test_cmyk_comes_out_as_rgb_that_looks_right(tmp_path: Path) -> None:
    cyan = np.zeros((20, 20, 4), dtype=np.uint8)
    cyan[:, :, 0] = 255
    image = extract_one(
        tmp_path,
        image_dict(20, 20, "/BitsPerComponent 8/ColorSpace/DeviceCMYK/Filter/FlateDecode"),
        zlib.compress(cyan.tobytes()),
    )
    assert image.colorspace == "cmyk"
    blue, green, red = read(image.file)[10, 10]
    assert red < 80 and green > 150 and blue > 150


def test_cmyk_jpeg_gets_a_png_that_looks_right_beside_the_original(tmp_path: Path) -> None:
    # Pillow, like Photoshop, stores CMYK JPEGs inverted; PDFs that embed such files say so
    # with a Decode array, and an image viewer opening the .jpg alone shows it wrong.
    buffer = io.BytesIO()
    Image.new("CMYK", (24, 24), (255, 0, 0, 0)).save(buffer, "JPEG")
    image = extract_one(
        tmp_path,
        image_dict(
            24,
            24,
            "/BitsPerComponent 8/ColorSpace/DeviceCMYK/Filter/DCTDecode/Decode[1 0 1 0 1 0 1 0]",
        ),  # fmt: skip
        buffer.getvalue(),
    )
    assert image.encoding == "jpeg" and image.file.suffix == ".png"
    assert image.original_file is not None and image.original_file.suffix == ".jpg"
    blue, green, red = read(image.file)[12, 12]
    assert red < 80 and green > 150 and blue > 150


def test_indexed_colours_are_expanded(tmp_path: Path) -> None:
    samples = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    image = extract_one(
        tmp_path,
        image_dict(2, 2, "/BitsPerComponent 8/ColorSpace[/Indexed/DeviceRGB 1<FF0000 0000FF>]"),
        samples.tobytes(),
    )
    assert image.colorspace == "index"
    pixels = read(image.file)
    assert list(pixels[0, 0]) == [0, 0, 255] and list(pixels[0, 1]) == [255, 0, 0]


def test_16_bit_gray(tmp_path: Path) -> None:
    ramp = (gradient().astype(np.uint16) * 257).astype(">u2")
    image = extract_one(
        tmp_path,
        image_dict(64, 48, "/BitsPerComponent 16/ColorSpace/DeviceGray/Filter/FlateDecode"),
        zlib.compress(ramp.tobytes()),
    )
    assert (image.width, image.height) == (64, 48)
    pixels = read(image.file)
    assert pixels[0, 0] < 10 and pixels[0, -1] > 245


def test_decode_inverted_gray_looks_as_drawn(tmp_path: Path) -> None:
    image = extract_one(
        tmp_path,
        image_dict(64, 48, "/BitsPerComponent 8/ColorSpace/DeviceGray/Decode[1 0]"),
        gradient().tobytes(),
    )
    pixels = read(image.file)
    assert pixels[0, 0] > 245 and pixels[0, -1] < 10


def test_decode_inverted_jpeg_gets_a_png_rendition(tmp_path: Path) -> None:
    jpeg = cv2.imencode(".jpg", gradient())[1].tobytes()
    image = extract_one(
        tmp_path,
        image_dict(
            64, 48, "/BitsPerComponent 8/ColorSpace/DeviceGray/Filter/DCTDecode/Decode[1 0]"
        ),  # fmt: skip
        jpeg,
    )
    assert image.file.suffix == ".png" and image.original_file.read_bytes() == jpeg
    pixels = read(image.file)
    assert pixels[0, 0] > 235 and pixels[0, -1] < 20


def test_stencil_mask_is_black_where_it_paints(tmp_path: Path) -> None:
    rows = np.packbits(np.array([[0] * 8 + [1] * 8] * 4, dtype=np.uint8), axis=1)
    image = extract_one(tmp_path, image_dict(16, 4, "/ImageMask true"), rows.tobytes())
    assert image.colorspace == "-"
    pixels = read(image.file)
    assert pixels[0, 0] == 0 and pixels[0, 15] == 255


def test_soft_mask_is_applied_into_an_rgba_png_beside(tmp_path: Path) -> None:
    pdf = RawPdf()
    alpha = np.full((48, 64), 77, dtype=np.uint8)
    mask = pdf.add_image(alpha)
    xref = pdf.add_image(np.dstack([gradient()] * 3), extra=f"/SMask {mask} 0 R")
    pdf.add_page(b"q 64 0 0 48 0 0 cm /Im0 Do Q", f"<</XObject<</Im0 {xref} 0 R>>>>")
    [image] = extract_pdf_images(pdf.save(tmp_path / "smask.pdf"), tmp_path / "out")
    assert "smask" in image.flags and image.rgba_file is not None
    rgba = read(image.rgba_file)
    assert rgba.shape == (48, 64, 4) and rgba[0, 0, 3] == 77
    assert read(image.file).shape[:2] == (48, 64)


@pytest.mark.parametrize(
    ("filter_name", "encoding"),
    [("/CCITTFaxDecode", "ccitt"), ("/JBIG2Decode", "jbig2"), ("/FlateDecode", "image")],
)
def test_encoding_names_follow_pdfimages(filter_name: str, encoding: str) -> None:
    import pymupdf

    from pipeline.pdf.encode import image_facts

    doc = pymupdf.open()
    xref = doc.get_new_xref()
    doc.update_object(xref, image_dict(8, 8, f"/BitsPerComponent 1/Filter[{filter_name}]"))
    assert image_facts(doc, xref).encoding == encoding


def test_palette_over_cmyk_and_separation_inks_are_expanded(tmp_path: Path) -> None:
    # Regression: MuPDF leaves Indexed-over-CMYK and Separation samples unexpanded; they
    # were written as gray palette indexes / ink tints.
    samples = np.array([[0, 1]], dtype=np.uint8)
    palette = extract_one(
        tmp_path,
        image_dict(2, 1, "/BitsPerComponent 8/ColorSpace[/Indexed/DeviceCMYK 1<00000000FF000000>]"),
        samples.tobytes(),
    )
    pixels = read(palette.file)
    assert list(pixels[0, 0]) == [255, 255, 255]  # no ink: white
    assert pixels[0, 1][2] < 80 and pixels[0, 1][0] > 150  # full cyan: no red, much blue
    (tmp_path / "ink").mkdir()
    ink = extract_one(
        tmp_path / "ink",
        image_dict(
            2,
            1,
            "/BitsPerComponent 8/ColorSpace[/Separation/Black/DeviceCMYK"
            "<</FunctionType 2/Domain[0 1]/C0[0 0 0 0]/C1[0 0 0 1]/N 1>>]",
        ),  # fmt: skip
        bytes([0, 255]),
    )
    pixels = read(ink.file)
    assert pixels[0, 0].min() > 200 and pixels[0, 1].max() < 60  # tint 0 white, tint 1 black
