"""Domain-gap benchmark: how the shipped score orders image sets of known kind, and how the
chosen form of the rule compares with the others tried, from knowledge/domain_gap.json.

The file holds the signals of every set as measured by ``scripts/calibrate_domain_gap.py``
(rebuild it there; this script needs no images). For each resolution it prints every set's score,
the pairs of held-out sets in the wrong order (kinds: natural photos < faces, textures <
handwriting, industrial images < noise; a pair closer than 0.05 may come in either order), and,
for each form of the rule, its error on the level of a calibration set left out of the fit (by
set, all its draws) and on the held-out sets.

    python benchmarks/domain_gap.py
"""

from __future__ import annotations

import json

import numpy as np

from advisor.knowledge.calibration import (
    SIGNALS,
    domain_gap_calibration,
    fit_rule,
    misordered,
)

DEPTHS = ("batchnorm_shallow", "batchnorm_middle", "batchnorm_deep")
FORMS = {
    "batch-norm divergence alone": (("batchnorm_divergence",), True),
    "source-head entropy alone": (("source_entropy",), True),
    "divergence + entropy, weights >= 0 (shipped)": (SIGNALS, True),
    "divergence + entropy, any weights": (SIGNALS, False),
    "shallow, middle, deep divergence, weights >= 0": (DEPTHS, True),
    "shallow, middle, deep divergence + entropy, weights >= 0": ((*DEPTHS, "source_entropy"), True),
}


def main() -> None:
    calibration = domain_gap_calibration()
    sets = calibration.sets
    report = {}
    for resolution, at in sorted(calibration.resolutions.items()):
        scores = calibration.scores_at(resolution)
        forms = {}
        for form, (signals, nonnegative) in FORMS.items():
            left_out = []
            for name, anchor in sets.items():
                if anchor.role != "calibration":
                    continue
                others = {n: a for n, a in sets.items() if n != name}
                rule = fit_rule(at.measured, others, signals, nonnegative)
                left_out += [rule.score(d) - anchor.level for d in at.measured[name]]
            rule = fit_rule(at.measured, sets, signals, nonnegative)
            form_scores = {n: rule.score(at.mean_signals(n)) for n in sets}
            held = [form_scores[n] - a.level for n, a in sets.items() if a.role == "held-out"]
            forms[form] = {
                "leave_one_set_out_rmse": round(float(np.sqrt(np.mean(np.square(left_out)))), 3),
                "held_out_rmse": round(float(np.sqrt(np.mean(np.square(held)))), 3),
                "held_out_misordered": misordered(form_scores, sets),
            }
        report[resolution] = {
            "scores": {name: round(value, 3) for name, value in scores.items()},
            "held_out_misordered": misordered(scores, sets),
            "rule": at.rule.model_dump(),
            "forms": forms,
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
