"""`python -m pipeline images PDF... --out DIR --json`: the images each PDF draws."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pipeline.config import ExtractionSettings
from pipeline.pdf.errors import mupdf_errors


def register(subparsers: argparse._SubParsersAction) -> None:
    from pipeline.commands.common import add_command

    parser = add_command(subparsers, "images", run, json_lines="JSON Lines, one image per line")
    parser.add_argument("pdfs", nargs="+", type=Path, metavar="PDF")
    parser.add_argument("--out", type=Path, required=True, help="folder for the image files")
    parser.add_argument(
        "--max-megapixels",
        type=float,
        default=None,
        help="skip (and flag too-large) images bigger than this "
        "(default: [extraction] max_megapixels in configs/pipeline.toml)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show warnings (bombs skipped, damaged objects)"
    )
    parser.add_argument(
        "--derived",
        action="store_true",
        help="also cut compound figures into panels and list panels and stitched figures",
    )


def run(args: argparse.Namespace) -> int:
    """Write every image each PDF draws (like pdfimages -all) and list them."""
    from pipeline.config import load_config
    from pipeline.errors import SourceError
    from pipeline.pdf.images import distinct_stems, extract_pdf_images

    # stderr carries one line per failed PDF; warnings (an image too large, a damaged
    # object) are in the JSON flags, and on stderr only with --verbose.
    logging.getLogger("pipeline.pdf").setLevel(logging.INFO if args.verbose else logging.ERROR)
    failed = 0
    limits = load_config().extraction
    stems = distinct_stems(args.pdfs)  # two inputs named paper.pdf must not share files
    for pdf in args.pdfs:
        try:
            images = extract_pdf_images(
                pdf,
                args.out,
                max_megapixels=args.max_megapixels,
                limits=limits,
                derived=args.derived,
                stem=stems[pdf],
            )
        except SourceError as exc:
            print(str(exc), file=sys.stderr)
            failed += 1
            continue
        except (*mupdf_errors(), OSError) as exc:  # a MuPDF failure mid-document
            print(f"{pdf}: {type(exc).__name__}: {exc}".replace("\n", " "), file=sys.stderr)
            failed += 1
            continue
        except Exception as exc:  # noqa: BLE001  (one odd PDF must not stop the batch)
            reason = f"internal error: {type(exc).__name__}: {exc}".replace("\n", " ")
            print(f"{pdf}: {reason}", file=sys.stderr)
            failed += 1
            continue
        rows = [image.to_json() for image in images if args.derived or not image.parts]
        if args.derived:
            rows += _panel_rows(images, args.out, limits)
        for row in rows:
            if args.json:
                print(json.dumps(row))
            else:
                bbox = row["bbox"] and ",".join(f"{v:.0f}" for v in row["bbox"])
                print(
                    f"{row['page']:4d} {row['index']:4d} {row['width']:5d}x{row['height']:<5d} "
                    f"{row['encoding']:6s} {row['colorspace']:5s} {row['xref'] or '-'} {bbox} "
                    f"{row['file'] or '-'} {' '.join(row['flags'])}"
                )
        sys.stdout.flush()
    return 1 if failed else 0


def _panel_rows(images: list, out: Path, limits: ExtractionSettings) -> list[dict]:
    """The panels of compound figures (as the pipeline cuts them), in the listing's shape."""
    from pipeline.panels import split_panels
    from pipeline.sources.pdf import document_image

    drawn = [document_image(image) for image in images]
    return [
        {
            "pdf": images[0].pdf,
            "page": panel.page,
            "index": panel.index,
            "file": str(panel.file),
            "width": panel.width,
            "height": panel.height,
            "xref": None,
            "encoding": "image",
            "colorspace": "-",
            "bbox": [round(v, 2) for v in panel.bbox] if panel.bbox else None,
            "sha256": panel.sha256,
            "caption": panel.caption,
            "panel": panel.panel,
            "panel_of": panel.panel_of,
            "panel_caption": panel.panel_caption,
            "flags": panel.flags,
        }
        for panel in split_panels(drawn, out, limits)[len(drawn) :]
    ]
