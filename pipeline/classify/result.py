"""The classifier's answer for one image."""

from __future__ import annotations

from dataclasses import dataclass, field

MODALITIES = ("xray", "ct", "other")
# Flags a Classification may carry; candidates pass them through to the reviewer.
FLAGS = {
    "overlay": "a heat map or colour segmentation mask is blended over the radiograph",
    "inverted": "read as a negative print: classified inverted",
    "rotated": "read sideways: classified turned a quarter",
}


@dataclass(frozen=True)
class Classification:
    """Modality (xray, ct, other), X-ray view, confidence in the modality, why, and flags."""

    modality: str
    view: str | None
    confidence: float
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "modality": self.modality,
            "view": self.view,
            "confidence": round(float(self.confidence), 3),
            "flags": list(self.flags),
            "reasons": list(self.reasons),
        }
