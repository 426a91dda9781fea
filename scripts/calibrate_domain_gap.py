"""Rebuild knowledge/domain_gap.json: the batch-norm divergence of the anchor image sets.

The aggregate domain gap places a dataset between two anchors measured with the same backbone
at the same resolution: crops of natural photographs (0) and uniform noise (1). This script
builds every anchor set (advisor.probing.anchors), runs it through the default backbone at each
probe resolution, and records the mean batch-norm divergence, so the ordering natural < shapes <
digits < noise can be checked and the calibration repeated by anyone:

    python scripts/calibrate_domain_gap.py            # writes knowledge/domain_gap.json
    python scripts/calibrate_domain_gap.py --check    # prints, writes nothing
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import torch

from advisor.probing.anchors import ANCHORS, write_anchor
from advisor.probing.extraction import extract
from advisor.probing.readings import divergence_from_source
from advisor.probing.sources import load_backbone

RESOLUTIONS = (64, 96, 128, 160, 224)
IMAGES = 200
SEED = 0
OUT = Path(__file__).resolve().parent.parent / "knowledge" / "domain_gap.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print only, write nothing")
    parser.add_argument("--images", type=int, default=IMAGES)
    args = parser.parse_args()
    torch.manual_seed(SEED)
    table: dict[int, dict[str, float]] = {}
    weights_id = ""
    with tempfile.TemporaryDirectory(prefix="anchors-") as tmp:
        paths = {name: write_anchor(name, Path(tmp) / name, args.images, SEED) for name in ANCHORS}
        for resolution in RESOLUTIONS:
            backbone = load_backbone("imagenet", resolution)
            weights_id = backbone.weights_id
            row = {}
            for name in ANCHORS:
                extracted = extract(paths[name], backbone, torch.device("cpu"))
                row[name] = round(divergence_from_source(backbone, extracted)[0], 5)
            table[resolution] = row
            print(resolution, json.dumps(row), file=sys.stderr)
    document = {
        "backbone": "imagenet",
        "weights_id": weights_id,
        "images_per_anchor": args.images,
        "seed": SEED,
        "command": "python scripts/calibrate_domain_gap.py",
        "resolutions": table,
    }
    text = json.dumps(document, indent=2) + "\n"
    if args.check:
        print(text)
        return
    OUT.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    print(f"wrote {OUT} ({digest})", file=sys.stderr)


if __name__ == "__main__":
    main()
