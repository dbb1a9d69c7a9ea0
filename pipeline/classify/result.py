"""The classifier's answer for one image."""

from __future__ import annotations

from dataclasses import dataclass, field

MODALITIES = ("xray", "ct", "other")


@dataclass(frozen=True)
class Classification:
    """Modality (xray, ct, other), X-ray view, confidence in the modality, and why."""

    modality: str
    view: str | None
    confidence: float
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "modality": self.modality,
            "view": self.view,
            "confidence": round(float(self.confidence), 3),
            "reasons": list(self.reasons),
        }
