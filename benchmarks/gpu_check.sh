#!/usr/bin/env bash
# GPU check, under 5 minutes: the probes and a 2-minute pilot on --device cuda, on the digits
# demo, printing images/s of the probes' pass and of both training phases, the epochs of the
# self-supervised pool a seed covers, and how closely the pilot kept to its budget.
# Run it on a machine with a CUDA GPU; nothing in the test suite depends on it.
#
#     bash benchmarks/gpu_check.sh
set -euo pipefail
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device here')"
python -m advisor demo --out "$work/digits" -q > /dev/null
start=$(date +%s.%N)
python -m advisor analyze "$work/digits" --device cuda --no-cache --json -q > "$work/analyze.json"
probes_wall=$(echo "$(date +%s.%N) - $start" | bc)
python -m advisor pilot "$work/digits" --device cuda --budget 2m --no-store \
    --out "$work/pilot" --json -q > "$work/pilot.json"
python - "$work" "$probes_wall" <<'PY'
import json, sys
from pathlib import Path

work, probes_wall = Path(sys.argv[1]), float(sys.argv[2])
analysis = json.loads((work / "analyze.json").read_text())
pilot = json.loads((work / "pilot.json").read_text())
probes, plan = analysis["probes"], pilot["plan"]
images = probes["labeled_sample"] + probes["unlabeled_sample"]
steps = [u["seconds_per_step"] for u in pilot["units"] if u.get("seconds_per_step")]
finetune = plan["batch_size"] / (sum(steps) / len(steps)) if steps else None
ssl = plan["batch_size"] / plan["seconds_per_ssl_step"] if plan["seconds_per_ssl_step"] else None
epochs = [s["ssl_steps"] * plan["batch_size"] / plan["pool_images"] for s in plan["steps"]]
print(json.dumps({
    "device": probes["device"],
    "probes": {"images": images, "seconds": probes["seconds"], "wall_s": round(probes_wall, 1),
               "images_per_s": round(images / probes["seconds"], 1),
               "resolution": probes["resolution"]},
    "pilot": {"resolution": plan["resolution"], "batch": plan["batch_size"],
              "finetune_images_per_s": finetune and round(finetune, 1),
              "ssl_images_per_s": ssl and round(ssl, 1),
              "ssl_epochs_of_pool_per_seed": [round(e, 2) for e in epochs],
              "seconds": pilot["seconds"], "budget": plan["budget"],
              "ratio_to_budget": round(pilot["seconds"] / plan["budget_seconds"], 3),
              "seeds": plan["seeds"], "winner": pilot["winner"]},
}, indent=1))
PY
