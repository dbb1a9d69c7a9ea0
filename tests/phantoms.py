"""Synthetic images that stand in for real radiographs and figures in tests.

Real chest X-rays and CT slices from the collection may not be copied into the
repository, so tests draw phantoms with the anatomy a classifier keys on: a dark
field around a bright body, two dark lungs, a bright spine and ribs for a chest
film; a circular field of view with a body section and lungs for a CT slice.
All functions are deterministic for a given seed and return uint8 arrays.

A radiograph's background is not white noise: overlapping anatomy gives it a power spectrum
falling as 1/f^beta, beta about 2.5-3 (Burgess et al., Med. Phys. 2001). The radiograph
phantoms carry such "anatomical noise" inside the body, under the detector's white noise.
Its strength was chosen, from a small grid, as the one whose local-pattern counts
(pipeline/classify/texture.py, as first measured on the full-size working image) come
nearest those of the dev split's real films and slices while the lateral phantom's Canny
edge share stays within that of the real lateral films.
"""

from __future__ import annotations

import cv2
import numpy as np

ANATOMY_BETA = 2.5
ANATOMY_SIGMA = 16.0


def _noise(shape: tuple[int, ...], rng: np.random.Generator, sigma: float) -> np.ndarray:
    return rng.normal(0.0, sigma, size=shape)


def _anatomy(body: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noise with a 1/f^ANATOMY_BETA power spectrum and standard deviation ANATOMY_SIGMA,
    inside the body (a 0/1 mask, edges softened); the air around it stays as it was."""
    shape = body.shape
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (ANATOMY_BETA / 2)
    spectrum[0, 0] = 0.0
    noise = np.fft.irfft2(spectrum, s=shape)
    soft = cv2.GaussianBlur(body.astype(float), (0, 0), max(1.0, shape[0] / 100))
    return noise / noise.std() * ANATOMY_SIGMA * soft


def chest_xray_frontal(size: int = 512, seed: int = 0) -> np.ndarray:
    """A PA chest radiograph phantom: grayscale, bright body, dark lungs, spine, ribs."""
    rng = np.random.default_rng(seed)
    h = w = size
    img = np.full((h, w), 18.0)
    # soft tissue of the thorax and shoulders
    cv2.ellipse(img, (w // 2, int(h * 0.62)), (int(w * 0.44), int(h * 0.52)), 0, 0, 360, 170, -1)
    cv2.ellipse(img, (w // 2, int(h * 0.08)), (int(w * 0.16), int(h * 0.14)), 0, 0, 360, 160, -1)
    body = img > 18.0
    # lungs
    for cx in (0.32, 0.68):
        cv2.ellipse(
            img, (int(w * cx), int(h * 0.52)), (int(w * 0.15), int(h * 0.30)), 0, 0, 360, 70, -1
        )
    # mediastinum, heart and spine
    cv2.rectangle(img, (int(w * 0.46), int(h * 0.18)), (int(w * 0.54), h), 205, -1)
    cv2.ellipse(
        img, (int(w * 0.56), int(h * 0.66)), (int(w * 0.12), int(h * 0.12)), 0, 0, 360, 190, -1
    )
    # ribs: faint bright arcs over the lungs
    for i in range(8):
        y = int(h * (0.27 + i * 0.065))
        for side in (-1, 1):
            cx = w // 2 + side * int(w * 0.18)
            cv2.ellipse(
                img,
                (cx, y),
                (int(w * 0.17), int(h * 0.05)),
                0,
                180 if side < 0 else 270,
                270 if side < 0 else 360,
                120,
                3,
            )
    # diaphragm domes
    for cx in (0.32, 0.68):
        cv2.ellipse(
            img, (int(w * cx), int(h * 0.84)), (int(w * 0.16), int(h * 0.06)), 0, 180, 360, 175, -1
        )
    img = cv2.GaussianBlur(img, (0, 0), size / 90)
    img += _anatomy(body, rng) + _noise(img.shape, rng, 4.0)
    film = np.clip(img, 0, 255).astype(np.uint8)
    # a burned-in marker letter, as on real films
    cv2.putText(
        film, "R", (int(w * 0.06), int(h * 0.12)), cv2.FONT_HERSHEY_SIMPLEX, size / 300, 250, 2
    )
    return film


def chest_xray_lateral(size: int = 512, seed: int = 0) -> np.ndarray:
    """A lateral chest radiograph phantom: one large lung field, spine at the back."""
    rng = np.random.default_rng(seed)
    h = w = size
    img = np.full((h, w), 20.0)
    cv2.ellipse(
        img, (int(w * 0.5), int(h * 0.58)), (int(w * 0.36), int(h * 0.5)), 0, 0, 360, 165, -1
    )
    body = img > 20.0
    cv2.ellipse(
        img, (int(w * 0.48), int(h * 0.5)), (int(w * 0.24), int(h * 0.32)), 0, 0, 360, 80, -1
    )
    cv2.rectangle(img, (int(w * 0.74), int(h * 0.15)), (int(w * 0.82), h), 215, -1)
    cv2.ellipse(
        img, (int(w * 0.40), int(h * 0.68)), (int(w * 0.13), int(h * 0.13)), 0, 0, 360, 185, -1
    )
    img = cv2.GaussianBlur(img, (0, 0), size / 90)
    img += _anatomy(body, rng) + _noise(img.shape, rng, 4.0)
    return np.clip(img, 0, 255).astype(np.uint8)


def ct_axial(size: int = 512, seed: int = 0) -> np.ndarray:
    """An axial chest CT slice phantom in lung window: circular field of view on black."""
    rng = np.random.default_rng(seed)
    h = w = size
    img = np.zeros((h, w), dtype=float)
    cv2.circle(img, (w // 2, h // 2), int(w * 0.48), 40, -1)  # reconstruction circle
    cv2.ellipse(img, (w // 2, h // 2), (int(w * 0.42), int(h * 0.30)), 0, 0, 360, 200, -1)  # body
    body = img == 200
    cv2.ellipse(img, (w // 2, h // 2), (int(w * 0.38), int(h * 0.26)), 0, 0, 360, 150, -1)  # muscle
    for cx in (0.33, 0.67):
        cv2.ellipse(
            img, (int(w * cx), int(h * 0.49)), (int(w * 0.14), int(h * 0.20)), 0, 0, 360, 25, -1
        )
    cv2.circle(img, (w // 2, int(h * 0.70)), int(w * 0.05), 250, -1)  # vertebra
    cv2.circle(img, (int(w * 0.52), int(h * 0.45)), int(w * 0.06), 170, -1)  # heart/aorta
    # vessels and ground-glass opacity in the lungs
    for _ in range(60):
        x = int(rng.uniform(0.22, 0.78) * w)
        y = int(rng.uniform(0.33, 0.65) * h)
        cv2.circle(img, (x, y), int(rng.integers(1, 4)), 110, -1)
    cv2.ellipse(
        img, (int(w * 0.28), int(h * 0.55)), (int(w * 0.05), int(h * 0.07)), 0, 0, 360, 80, -1
    )
    img = cv2.GaussianBlur(img, (0, 0), size / 300)
    img += _anatomy(body, rng) + _noise(img.shape, rng, 3.0)
    return np.clip(img, 0, 255).astype(np.uint8)


def bar_chart(size: int = 512, seed: int = 0) -> np.ndarray:
    """A coloured bar chart on a white page with axes and labels (BGR)."""
    rng = np.random.default_rng(seed)
    h = w = size
    img = np.full((h, w, 3), 255, dtype=np.uint8)
    cv2.line(img, (60, h - 60), (w - 20, h - 60), (0, 0, 0), 2)
    cv2.line(img, (60, 20), (60, h - 60), (0, 0, 0), 2)
    colours = [(200, 120, 40), (40, 160, 230), (60, 180, 60), (50, 50, 220)]
    n = 6
    for i in range(n):
        x0 = 80 + i * (w - 120) // n
        top = int(rng.uniform(0.15, 0.8) * (h - 100))
        cv2.rectangle(img, (x0, top), (x0 + (w - 160) // n, h - 62), colours[i % 4], -1)
        cv2.putText(img, f"G{i}", (x0, h - 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    cv2.putText(img, "Cases per day", (w // 3, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    return img


def colour_photo(size: int = 512, seed: int = 0) -> np.ndarray:
    """A saturated natural-looking colour image (smooth colour fields and texture, BGR)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(8, 8, 3)).astype(np.uint8)
    img = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC).astype(float)
    img += _noise(img.shape, rng, 12.0)
    return np.clip(img, 0, 255).astype(np.uint8)


def text_page(size: int = 512, seed: int = 0) -> np.ndarray:
    """A scanned page of text: white background, dark lines of glyphs (grayscale)."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 245, dtype=np.uint8)
    y = 40
    while y < size - 30:
        words = " ".join(
            "".join(chr(int(c)) for c in rng.integers(97, 123, size=int(rng.integers(2, 9))))
            for _ in range(8)
        )
        cv2.putText(img, words, (30, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 20, 1)
        y += 22
    return img
