"""Split a compound-figure caption into the parts about each panel letter.

The segmentation lives in `pipeline.pdf.caption_text` (shared with the PDF panel cutter); this
is the view for per-panel fields: upper-case letters, each with the marked caption text.
"""

from __future__ import annotations

from pipeline.pdf.caption_text import panel_spans, shared_prefix

__all__ = ["panel_spans", "shared_prefix", "split_panel_captions"]


def split_panel_captions(caption: str) -> dict[str, str]:
    """Panel letter -> the part of the caption about that panel; {} without panel markers."""
    return {
        letter: " ".join(caption[s:e] for s, e in spans)
        for letter, spans in sorted(panel_spans(caption).items())
    }
