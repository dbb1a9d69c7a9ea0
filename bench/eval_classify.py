"""Score the chest X-ray / CT / other classifier on the shared dev images and real papers.

Run: .venv/bin/python bench/eval_classify.py [--no-cv] [--data DIR]

1. Dev images, shipped model: confusion matrix, precision/recall per class, accuracy,
   frontal/lateral accuracy (curators' PA, AP, AP Supine -> frontal, L -> lateral), images
   per second (decode + features + model, one process, one core), misclassified files.
2. Figures of real papers (bench/data/classify_real.tsv), shipped model: the `dev` papers
   the layer is fitted on, the dev papers it is not fitted on (bench/splits.py) and the
   `check` papers (never used to design or fit anything): radiographs kept, `other` kept
   out, overlay flags, per figure style.
3. Group-wise 5-fold cross-validation (unless --no-cv): the learned layer refitted on the
   training folds of dev + journal-styled dev + real dev papers + generated figures, scored
   on the held-out groups: per source, per journal style, frontal/lateral of the styled
   X-rays, and accuracy per confidence bin (calibration: a 0.9 should be right nine times
   in ten).
   Then the same held-out groups read by the whole classifier (classifier.classify_array,
   its retries included) with their fold's model: what the retries add to the layer alone.
4. Dev images inverted and turned: what the retries recover, flag (and misflag) and let in.
The figures are checked against the floors in bench/floors.toml.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import classify_data as data  # noqa: E402
import gate  # noqa: E402

if TYPE_CHECKING:
    from classify_fit import CrossValidation

CLASSES = ("xray", "ct", "other")
GOALS = {
    "accuracy": 0.95,
    "xray_recall": 0.98,
    "ct_recall": 0.98,
    "xray_precision": 0.97,
    "view_accuracy": 0.97,
}


def scores(truth: list[str], pred: list[str]) -> dict:
    """Confusion matrix, per-class precision/recall/F1, accuracy and macro-F1."""
    cm = Counter(zip(truth, pred, strict=True))
    per = {}
    for c in CLASSES:
        tp = cm[(c, c)]
        npred = sum(cm[(t, c)] for t in CLASSES)
        ntrue = sum(cm[(c, p)] for p in CLASSES)
        p = tp / npred if npred else 0.0
        r = tp / ntrue if ntrue else 0.0
        per[c] = (p, r, 2 * p * r / (p + r) if p + r else 0.0, ntrue)
    acc = sum(cm[(c, c)] for c in CLASSES) / max(1, len(truth))
    macro = sum(v[2] for v in per.values()) / len(CLASSES)
    return {"cm": cm, "per": per, "accuracy": acc, "macro_f1": macro}


def print_scores(s: dict, title: str) -> None:
    print(f"\n== {title} ==")
    print("confusion (rows: truth, cols: predicted)")
    print(f"{'':>8}" + "".join(f"{c:>8}" for c in CLASSES))
    for t in CLASSES:
        print(f"{t:>8}" + "".join(f"{s['cm'][(t, p)]:>8}" for p in CLASSES))
    print(f"{'class':>8}{'prec':>8}{'recall':>8}{'F1':>8}{'n':>6}")
    for c, (p, r, f1, n) in s["per"].items():
        print(f"{c:>8}{p:>8.3f}{r:>8.3f}{f1:>8.3f}{n:>6}")
    print(f"accuracy {s['accuracy']:.3f}   macro-F1 {s['macro_f1']:.3f}")


def source_kind(sample: data.Sample) -> str:
    return sample.group.split(":")[0] + ":" + re.sub(r"\W+", "_", sample.group.split(":")[-1])[:40]


def view_accuracy(samples: list, results: list) -> tuple[int, int, list[str]]:
    good = total = 0
    wrong = []
    for sample, res in zip(samples, results, strict=True):
        if sample.modality != "xray" or sample.view is None or res.modality != "xray":
            continue
        total += 1
        if res.view == sample.view:
            good += 1
        else:
            wrong.append(f"{sample.name} ({sample.view} -> {res.view})")
    return good, total, wrong


def dev_images(samples: list) -> tuple[dict, list]:
    """The shipped classifier on the dev images, timed on one core."""
    from pipeline.classify import classify_file

    results = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for sample in samples:
        results.append(classify_file(sample.path))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    s = scores([x.modality for x in samples], [r.modality for r in results])
    print_scores(s, f"dev images ({len(samples)}), shipped model")
    good, total, wrong_views = view_accuracy(samples, results)
    view_acc = good / total if total else 0.0
    print(
        f"frontal/lateral accuracy {view_acc:.3f} ({good}/{total} X-rays with a curator's "
        "view, classified as xray)"
    )
    for w in wrong_views:
        print(f"  wrong view: {w}")
    ips, wall = len(samples) / max(cpu, 1e-9), len(samples) / max(elapsed, 1e-9)
    print(
        f"speed: {ips:.1f} images/s of CPU time ({wall:.1f}/s wall clock), decode + features "
        f"+ model + retries, one process {'ok' if ips >= 50 else 'MISS'} (goal >= 50)"
    )
    low = sum(1 for r in results if r.modality != "other" and r.confidence < 0.6)
    print(f"staged xray/ct below LOW_CONFIDENCE: {low}")
    wrong = defaultdict(list)
    for sample, res in zip(samples, results, strict=True):
        if res.modality != sample.modality:
            wrong[source_kind(sample)].append(
                f"{sample.name}: {sample.modality} -> {res.modality} ({res.confidence:.2f}); "
                f"{res.reasons[1]}"
            )
    print(f"\nmisclassified, by group ({sum(len(v) for v in wrong.values())}):")
    for group, items in sorted(wrong.items(), key=lambda kv: -len(kv[1])):
        print(f"  {group} ({len(items)})")
        for item in items:
            print(f"    {item}")
    figures = {
        "accuracy": s["accuracy"],
        "macro_f1": s["macro_f1"],
        "xray_precision": s["per"]["xray"][0],
        "xray_recall": s["per"]["xray"][1],
        "ct_recall": s["per"]["ct"][1],
        "ct_precision": s["per"]["ct"][0],
        "view_accuracy": view_acc,
    }
    return figures, results


REAL_SETS = {  # name: (split, fitted, title)
    "dev": ("dev", True, "seen in training"),
    "unfitted": ("dev", False, "looked at end to end, never fitted on: bench/splits.py"),
    "check": ("check", None, "held out: never used to design or fit"),
}


def real_papers(split: str, show_errors: bool) -> dict:
    """The shipped classifier on the labelled figures of the dev papers it is fitted on,
    the dev papers it is not fitted on, or the check papers (REAL_SETS)."""
    from pipeline.classify.classifier import classify_array

    rows, fitted, title = REAL_SETS[split]
    samples = data.real_samples(rows, fitted=fitted)
    if not samples:
        print(f"\nSKIP real papers ({split}): no realpapers under {data.shared_data()}")
        return {}
    results = [classify_array(s.load()) for s in samples]
    s = scores([x.modality for x in samples], [r.modality for r in results])
    print_scores(s, f"real-paper figures, {split} papers ({title}), shipped model")
    radiographs = [(x, r) for x, r in zip(samples, results, strict=True) if x.modality != "other"]
    kept = sum(r.modality != "other" for _, r in radiographs)
    right = sum(r.modality == x.modality for x, r in radiographs)
    flagged = sum(r.confidence < 0.6 for _, r in radiographs if r.modality != "other")
    overlays = [(x, r) for x, r in radiographs if x.overlay]
    flag_hits = sum("overlay" in r.flags for _, r in overlays)
    false_flags = sum("overlay" in r.flags for x, r in radiographs if not x.overlay)
    others = [(x, r) for x, r in zip(samples, results, strict=True) if x.modality == "other"]
    let_in = sum(r.modality != "other" for _, r in others)
    let_in_low = sum(r.modality != "other" and r.confidence < 0.6 for _, r in others)
    print(
        f"radiograph panels staged {kept}/{len(radiographs)}, modality right {right}/{kept}, "
        f"{flagged} of them low confidence; overlay flagged {flag_hits}/{len(overlays)} "
        f"(+{false_flags} without an overlay); `other` staged {let_in}/{len(others)} "
        f"({let_in_low} of them below LOW_CONFIDENCE)"
    )
    by_tag: dict[str, list] = defaultdict(list)
    for x, r in radiographs:
        for tag in x.style.split(";"):
            by_tag[tag].append(r.modality == x.modality)
    print(
        "  radiographs by style tag: "
        + ", ".join(f"{t} {sum(v)}/{len(v)}" for t, v in sorted(by_tag.items()) if t)
    )
    if show_errors:
        for x, r in zip(samples, results, strict=True):
            if r.modality != x.modality:
                print(
                    f"    {x.name} [{x.style}]: {x.modality} -> {r.modality} "
                    f"({r.confidence:.2f}); {r.reasons[1]}"
                )
    return {
        f"real_{split}_radiograph_recall": kept / max(1, len(radiographs)),
        f"real_{split}_modality_right": right / max(1, kept),
        f"real_{split}_other_kept_out": 1 - let_in / max(1, len(others)),
    }


def cross_validation() -> tuple[dict, CrossValidation]:
    """Group-wise CV of the learned layer on all training data; per source, style, bin. Also
    the CV itself (classify_fit.CrossValidation), whose fold models the retries reuse."""
    import classify_fit as cf
    import train_classify as tc

    items = tc.training_set(tc.DEFAULT_COPIES, tc.DEFAULT_SYNTHETIC)
    base, labels, groups, sources = tc.arrays(items)
    held = tc.held_out(base, labels, groups, sources)
    fold_of, temperature, other_min = held.cv.fold_of, held.temperature, held.other_min
    pred, conf = held.pred, held.conf
    folds = len(set(fold_of.values()))
    print(
        f"\n== group-wise {folds}-fold CV, learned layer refitted per fold "
        f"({len(items)} images, {len(fold_of)} groups; temperature {temperature:.2f}, "
        f"other_min {other_min:.2f}) =="
    )
    src = np.array(sources)
    figures = {}
    for source in ("dev", "styled", "real", "synthetic"):
        m = src == source
        if not m.any():
            continue
        f = tc.scores(labels[m], pred[m])
        print(f"  {source:9s} n={m.sum():5d} " + " ".join(f"{k} {v:.3f}" for k, v in f.items()))
        figures.update({f"cv_{source}_{k}": v for k, v in f.items() if not np.isnan(v)})
    radiograph = labels < 2
    figures["cv_xray_recall"] = float((pred[labels == 0] == 0).mean())
    figures["cv_ct_recall"] = float((pred[labels == 1] == 1).mean())
    figures["cv_radiographs_kept"] = float((pred[radiograph] != 2).mean())
    figures["cv_accuracy"] = figures.get("cv_dev_accuracy", 0.0)
    print(
        f"  all held-out: X-ray recall {figures['cv_xray_recall']:.3f}, CT recall "
        f"{figures['cv_ct_recall']:.3f}, radiographs kept {figures['cv_radiographs_kept']:.3f}"
    )
    styles: dict[str, list[int]] = defaultdict(list)
    for i, (sample, _) in enumerate(items):
        if src[i] == "styled":
            for name in sample.style.split(" + "):
                styles[name].append(i)
    print("  journal styles on held-out groups (accuracy; radiographs right / all):")
    for name, idx in sorted(styles.items()):
        idx = np.array(idx)
        rad = idx[labels[idx] < 2]
        print(
            f"    {name:14s} n={len(idx):4d} accuracy {(pred[idx] == labels[idx]).mean():.3f}"
            f"  radiographs {(pred[rad] == labels[rad]).sum()}/{len(rad)}"
        )
    figures.update(styled_views(items, pred))
    print("  calibration, all held-out (reported confidence vs accuracy; each fold's confidence")
    print("  curve fitted on the other folds; below 0.6 a staged radiograph is flagged for")
    print("  review, and capped there without strong evidence):")
    gap = 0.0
    for name, n, acc, mean in cf.calibration_table(conf, pred == labels):
        print(f"    {name}: n {n:5d}  accuracy {acc:.3f}  mean confidence {mean:.3f}")
        if mean >= 0.9 and n >= 50:
            gap = max(gap, abs(acc - mean))
    figures["cv_calibration_gap_above_0.9"] = gap
    figures.update(whole_classifier(items, held))
    return figures, held.cv


def fold_models(cv: CrossValidation) -> list:
    """Each fold's model with the shipped temperature, thresholds and confidence curve (the
    retries compare confidences on that curve)."""
    from dataclasses import replace

    from pipeline.classify.model import shipped_model

    shipped = shipped_model()
    like = {
        "temperature": shipped.temperature,
        "other_min": shipped.other_min,
        "overlay_min": shipped.overlay_min,
        "confidence_curve": shipped.confidence_curve,
    }
    return [replace(model, **like) for model in cv.models]


def whole_classifier(items: list, held) -> dict[str, float]:
    """The held-out groups read by classify_array with their fold's model, as in the
    product: an image the layer calls `other` (below RETRY_SKIP) or a weak radiograph goes
    through the retries (the picture without its page, turned, inverted)."""
    import train_classify as tc

    from pipeline.classify.classifier import classify_array
    from pipeline.classify.model import CLASSES

    models = fold_models(held.cv)
    other = CLASSES.index("other")
    labels = np.array([CLASSES.index(sample.modality) for sample, _ in items])
    pred = np.empty(len(items), int)
    images = tc.training_images(tc.DEFAULT_COPIES, tc.DEFAULT_SYNTHETIC)
    for i, ((sample, image), (known, _)) in enumerate(zip(images, items, strict=True)):
        if sample != known:
            raise RuntimeError(f"image {i} is {sample}, the measured sample {known}")
        pred[i] = CLASSES.index(classify_array(image, models[held.fold[i]]).modality)
    radiograph = labels < 2
    src = np.array([data.source_of(sample) for sample, _ in items])
    figures = {
        "cv_whole_xray_recall": float((pred[labels == 0] == 0).mean()),
        "cv_whole_ct_recall": float((pred[labels == 1] == 1).mean()),
        "cv_whole_radiographs_kept": float((pred[radiograph] != other).mean()),
    }
    print(
        f"  the whole classifier (retries included), all held-out: X-ray recall "
        f"{figures['cv_whole_xray_recall']:.3f}, CT recall "
        f"{figures['cv_whole_ct_recall']:.3f}, radiographs kept "
        f"{figures['cv_whole_radiographs_kept']:.3f}"
    )
    for source in ("dev", "styled", "real", "synthetic"):
        others = (src == source) & (labels == other)
        if others.any():
            staged = int((pred[others] != other).sum())
            print(f"    {source:9s} `other` staged {staged}/{int(others.sum())} "
                  f"(the layer alone: {int((held.pred[others] != other).sum())})")  # fmt: skip
            figures[f"cv_whole_{source}_other_staged"] = staged / int(others.sum())
    return figures


def styled_views(items: list, pred: np.ndarray) -> dict[str, float]:
    """Frontal/lateral of the styled copies of X-rays with a curator's view, read as X-rays
    by their CV fold. The view rule's thresholds were set on the dev films as they come,
    so the styles (crops, axes, labels, colour maps) are new to it."""
    from pipeline.classify.decide import view_of
    from pipeline.classify.model import CLASSES

    xray = CLASSES.index("xray")
    right: dict[str, list[bool]] = {"frontal": [], "lateral": []}
    for (sample, features), p in zip(items, pred, strict=True):
        if data.source_of(sample) == "styled" and sample.view in right and p == xray:
            right[sample.view].append(view_of(features)[0] == sample.view)
    every = right["frontal"] + right["lateral"]
    if not right["lateral"] or not right["frontal"]:
        print("  frontal/lateral of styled X-rays: no styled frontal or lateral read as X-ray")
        return {}
    print(
        f"  frontal/lateral of styled X-rays read as X-rays: {sum(every)}/{len(every)} "
        f"(frontal {sum(right['frontal'])}/{len(right['frontal'])}, lateral "
        f"{sum(right['lateral'])}/{len(right['lateral'])})"
    )
    return {
        "cv_styled_view_accuracy": float(np.mean(every)),
        "cv_styled_lateral_recall": float(np.mean(right["lateral"])),
    }


def retries(samples: list, cv: CrossValidation | None = None) -> dict[str, float]:
    """Dev images inverted and turned: what the retries recover and what they let in, each
    image classified by the model of its CV fold (fitted without its group; the texture
    terms of a turned image are those of the image, so the shipped model would score fitted
    values). `cv`: the cross-validation's folds and models when it ran, else they are
    fitted here."""
    import classify_fit as cf
    import cv2
    import train_classify as tc

    from pipeline.classify.classifier import classify_array
    from pipeline.classify.decode import load_image

    if cv is None:
        items = tc.training_set(tc.DEFAULT_COPIES, tc.DEFAULT_SYNTHETIC)
        cv = cf.cross_validate(*tc.arrays(items))
    fold_of, models = cv.fold_of, fold_models(cv)
    counts: Counter = Counter()
    for sample in samples:
        model = models[fold_of[sample.group]]
        image = load_image(sample.path)
        counts[sample.modality] += 1
        negative = classify_array(255 - image, model)
        inverted = negative.modality
        sideways = classify_array(cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE), model)
        turned = sideways.modality
        if sample.modality == "xray":
            counts["inv_flagged"] += inverted == "xray" and "inverted" in negative.flags
            counts["turn_misflagged"] += "inverted" in sideways.flags
        if sample.modality == "other":
            counts["inv_in"] += inverted != "other"
            counts["turn_in"] += turned != "other"
        else:
            counts[f"inv_{sample.modality}"] += inverted == sample.modality
            counts[f"turn_{sample.modality}"] += turned == sample.modality
    print(
        f"\nretries: inverted X-rays kept {counts['inv_xray']}/{counts['xray']} (flagged "
        f"{counts['inv_flagged']}), turned X-rays {counts['turn_xray']}/{counts['xray']} "
        f"({counts['turn_misflagged']} of them flagged `inverted`, not `rotated`), "
        f"turned CT {counts['turn_ct']}/{counts['ct']}; `other` let in: inverted "
        f"{counts['inv_in']}/{counts['other']}, turned {counts['turn_in']}/{counts['other']}"
    )
    return {
        "retry_inverted_xray_kept": counts["inv_xray"] / max(1, counts["xray"]),
        "retry_inverted_xray_flagged": counts["inv_flagged"] / max(1, counts["xray"]),
        "retry_turned_xray_kept": counts["turn_xray"] / max(1, counts["xray"]),
        "retry_turned_xray_flagged_inverted": counts["turn_misflagged"] / max(1, counts["xray"]),
        "retry_turned_ct_kept": counts["turn_ct"] / max(1, counts["ct"]),
        "retry_other_in_inverted": counts["inv_in"] / max(1, counts["other"]),
        "retry_other_in_turned": counts["turn_in"] / max(1, counts["other"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="shared data dir (images/ ...)")
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    parser.add_argument("--errors", action="store_true", help="list errors on the check papers")
    args = parser.parse_args()
    if args.data:
        import os

        os.environ["PIPELINE_SHARED_DATA"] = str(args.data)
    samples = data.dev_samples()
    if not samples:
        print(
            f"SKIP eval_classify: no labelled images under {data.shared_data()} "
            "(set PIPELINE_SHARED_DATA)"
        )
        return 0

    import cv2

    cv2.setNumThreads(1)  # the goal is images per second on one core
    figures, _ = dev_images(samples)
    print(
        "goals (held-out): "
        + ", ".join(
            f"{k} {figures[k]:.3f} {'ok' if figures[k] >= g else 'MISS'} (>= {g})"
            for k, g in GOALS.items()
        )
    )
    figures.update(real_papers("dev", show_errors=True))
    figures.update(real_papers("unfitted", show_errors=True))
    figures.update(real_papers("check", show_errors=args.errors))
    cv = None
    if not args.no_cv:
        cv_figures, cv = cross_validation()
        figures.update(cv_figures)
    figures.update(retries(samples, cv))
    return gate.check("classify", figures, only_reported=args.no_cv)


if __name__ == "__main__":
    raise SystemExit(main())
