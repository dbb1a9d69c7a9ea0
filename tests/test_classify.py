"""The chest X-ray / CT / other classifier: phantoms, image formats, errors, CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.classify import LOW_CONFIDENCE, Classification, classify_file, classify_image
from pipeline.classify.cli import register
from pipeline.errors import ImageReadError
from tests import phantoms

EXPECTED = [
    ("chest_xray_frontal", "xray", "frontal"),
    ("chest_xray_lateral", "xray", "lateral"),
    ("ct_axial", "ct", None),
    ("bar_chart", "other", None),
    ("text_page", "other", None),
]


def not_a_confident_radiograph(result: Classification) -> bool:
    """Recall first: what the classifier cannot rule out is staged, but flagged for review."""
    return result.modality == "other" or result.confidence < LOW_CONFIDENCE


@pytest.mark.parametrize("size", [256, 512, 1024])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("name", "modality", "view"), EXPECTED)
def test_phantoms_are_classified(name: str, modality: str, view: str | None, size: int, seed: int):
    result = classify_image(getattr(phantoms, name)(size, seed))
    assert (result.modality, result.view) == (modality, view), result.reasons
    assert 0.0 <= result.confidence <= 1.0
    assert result.reasons and all(isinstance(r, str) and r for r in result.reasons)
    if modality != "other":
        assert result.confidence >= LOW_CONFIDENCE and not result.flags, result.reasons


@pytest.mark.parametrize("size", [256, 512, 1024])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_colour_photo_is_never_a_confident_radiograph(size: int, seed: int):
    result = classify_image(phantoms.colour_photo(size, seed))
    assert not_a_confident_radiograph(result), result.reasons


def test_to_json_shape():
    result = classify_image(phantoms.ct_axial(256))
    data = result.to_json()
    assert set(data) == {"modality", "view", "confidence", "flags", "reasons"}
    assert isinstance(result, Classification)
    assert 0.0 < LOW_CONFIDENCE < 1.0
    json.dumps(data)


def _write(path: Path, image: np.ndarray, ext: str = ".png") -> Path:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def test_png_bytes_behind_a_jpg_name(tmp_path: Path):
    path = _write(tmp_path / "film.jpg", phantoms.chest_xray_frontal(512), ".png")
    assert classify_file(path).modality == "xray"


def test_large_jpeg_is_decoded_reduced(tmp_path: Path):
    path = _write(tmp_path / "ct.jpeg", phantoms.ct_axial(2048), ".jpg")
    from pipeline.classify.decode import load_image

    assert max(load_image(path).shape[:2]) < 2048
    assert classify_file(path).modality == "ct"


def test_sixteen_bit_png(tmp_path: Path):
    film16 = phantoms.chest_xray_frontal(512).astype(np.uint16) * 16 + 300
    path = _write(tmp_path / "film16.png", film16)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    assert classify_file(path).modality == "xray"
    assert classify_image(film16).modality == "xray"


def test_palette_png(tmp_path: Path):
    from PIL import Image

    rgb = cv2.cvtColor(phantoms.bar_chart(512), cv2.COLOR_BGR2RGB)
    path = tmp_path / "chart.png"
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(path)
    assert Image.open(path).mode == "P"
    assert classify_file(path).modality == "other"


def test_rgba_png_and_array(tmp_path: Path):
    bgr = cv2.cvtColor(phantoms.ct_axial(512), cv2.COLOR_GRAY2BGR)
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])
    path = _write(tmp_path / "ct.png", bgra)
    assert classify_file(path).modality == "ct"
    assert classify_image(bgra).modality == "ct"


def test_cmyk_jpeg(tmp_path: Path):
    from PIL import Image

    rgb = cv2.cvtColor(phantoms.colour_photo(512), cv2.COLOR_BGR2RGB)
    path = tmp_path / "photo.jpg"
    Image.fromarray(rgb).convert("CMYK").save(path, "JPEG", quality=90)
    assert Image.open(path).mode == "CMYK"
    assert not_a_confident_radiograph(classify_file(path))


def test_grayscale_jpeg(tmp_path: Path):
    path = _write(tmp_path / "lat.jpg", phantoms.chest_xray_lateral(768), ".jpg")
    result = classify_file(path)
    assert (result.modality, result.view) == ("xray", "lateral")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.png", b""),
        ("notes.jpg", b"this is not an image\n" * 10),
        ("truncated.png", b"\x89PNG\r\n\x1a\n\x00\x00"),
    ],
)
def test_unreadable_files_raise(tmp_path: Path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        classify_file(path)
    assert str(path) in str(info.value)


def test_missing_file_raises(tmp_path: Path):
    with pytest.raises(ImageReadError):
        classify_file(tmp_path / "nowhere.png")


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_json_lines_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    good = [
        _write(tmp_path / "a.png", phantoms.chest_xray_frontal(256)),
        _write(tmp_path / "b.jpg", phantoms.ct_axial(256), ".jpg"),
    ]
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"")
    code = _run_cli(["classify", str(good[0]), str(bad), str(good[1]), "--json"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [r["path"] for r in rows] == [str(good[0]), str(good[1])]
    assert all(
        set(r) == {"path", "modality", "view", "confidence", "flags", "reasons"} for r in rows
    )
    assert [r["modality"] for r in rows] == ["xray", "ct"]
    assert len(err.strip().splitlines()) == 1 and str(bad) in err


def test_cli_table_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = _write(tmp_path / "page.png", phantoms.text_page(256))
    assert _run_cli(["classify", str(path)]) == 0
    assert "other" in capsys.readouterr().out


def _brain_mri(size: int, seed: int) -> np.ndarray:
    """An axial head slice: dark field, bright skull ring, grey brain, small ventricles."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size))
    c = (size // 2, size // 2)
    cv2.ellipse(img, c, (int(size * 0.38), int(size * 0.45)), 0, 0, 360, 200, -1)
    cv2.ellipse(img, c, (int(size * 0.34), int(size * 0.41)), 0, 0, 360, 110, -1)
    cv2.ellipse(img, c, (int(size * 0.26), int(size * 0.33)), 0, 0, 360, 150, -1)
    for dx in (-1, 1):
        centre = (c[0] + dx * int(size * 0.05), c[1])
        cv2.ellipse(img, centre, (int(size * 0.03), int(size * 0.12)), 0, 0, 360, 40, -1)
    img = cv2.GaussianBlur(img, (0, 0), size / 200) + rng.normal(0, 5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _western_blot(size: int, seed: int) -> np.ndarray:
    """A wide grey strip with dark bands."""
    rng = np.random.default_rng(seed)
    img = np.full((size // 2, size), 225.0)
    for i in range(6):
        cv2.ellipse(
            img,
            (30 + i * size // 7, size // 4),
            (size // 16, size // 50 + 2),
            0,
            0,
            360,
            float(rng.integers(30, 160)),
            -1,
        )
    img = cv2.GaussianBlur(img, (0, 0), 2) + rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _grey_microscopy(size: int, seed: int) -> np.ndarray:
    """Grey cells scattered on a light field."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 200.0)
    for _ in range(40):
        centre = (int(rng.integers(0, size)), int(rng.integers(0, size)))
        cv2.circle(img, centre, int(rng.integers(5, 15)), float(rng.integers(60, 140)), -1)
    img = cv2.GaussianBlur(img, (0, 0), 1.5) + rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [256, 512])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("draw", [_brain_mri, _western_blot, _grey_microscopy])
def test_grey_non_chest_images_are_never_confident_radiographs(draw, seed: int, size: int):
    result = classify_image(draw(size, seed))
    assert not_a_confident_radiograph(result), result.reasons


def test_colour_photo_turned_grey_is_never_a_confident_radiograph():
    grey = cv2.cvtColor(phantoms.colour_photo(512, 3), cv2.COLOR_BGR2GRAY)
    assert not_a_confident_radiograph(classify_image(grey))


def test_reasons_name_probabilities_and_the_terms_that_weighed():
    result = classify_image(phantoms.chest_xray_frontal(512))
    assert result.reasons[1].startswith("xray: X-ray 0.")
    assert result.reasons[2].startswith("for xray: ") and "(+" in result.reasons[2]
    assert "mediastinum" in " ".join(result.reasons)


def test_gif_and_sixteen_bit_tiff(tmp_path: Path):
    from PIL import Image

    Image.fromarray(phantoms.text_page(256)).save(tmp_path / "page.gif")
    assert classify_file(tmp_path / "page.gif").modality == "other"
    film16 = phantoms.chest_xray_frontal(512).astype(np.uint16) * 200
    ok, buf = cv2.imencode(".tiff", film16)
    assert ok
    (tmp_path / "film.dat").write_bytes(buf.tobytes())
    assert classify_file(tmp_path / "film.dat").modality == "xray"


@pytest.mark.parametrize("turn", [cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE])
def test_sideways_film_is_kept_but_flagged(turn: int):
    result = classify_image(cv2.rotate(phantoms.chest_xray_frontal(512), turn))
    assert result.modality == "xray"
    assert result.confidence < LOW_CONFIDENCE
    assert "rotated" in result.flags and result.reasons[-1].startswith("rotated:")


@pytest.mark.parametrize("margin", [255, 0])
def test_page_margin_or_black_frame_is_cut_before_measuring(margin: int):
    film = phantoms.chest_xray_frontal(512)
    framed = cv2.copyMakeBorder(film, 40, 40, 60, 60, cv2.BORDER_CONSTANT, value=margin)
    assert classify_image(framed).modality == "xray"
    ct = cv2.copyMakeBorder(phantoms.ct_axial(512), 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=255)
    assert classify_image(ct).modality == "ct"


def _png_header_claiming(width: int, height: int, color: int = 2) -> bytes:
    """A PNG that declares a size its few bytes of data do not hold (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))  # fmt: skip


def test_bombs_are_refused_with_their_declared_size_and_the_batch_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_claiming(40000, 40000))  # 1.6 GP: Pillow's bomb error before
    big = tmp_path / "big.png"
    big.write_bytes(_png_header_claiming(12000, 12000, color=6))  # 144 MP RGBA: 576 MB decoded
    good = _write(tmp_path / "good.png", phantoms.chest_xray_frontal(256))
    code = _run_cli(["classify", str(bomb), str(big), str(good), "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and [json.loads(line)["path"] for line in out.splitlines()] == [str(good)]
    lines = err.strip().splitlines()
    assert lines[0] == f"classify: {bomb}: too large: 40000x40000 is over the 150 MP cap " \
                       "([extraction] max_megapixels)"  # fmt: skip
    assert f"{big}: too large to decode: 12000x12000 needs 549 MB" in lines[1]
