"""The decision engine: from a card or an analysis to a verdict with its evidence.

Data flow: features (card, profile, probes) -> the rules that fire -> the gain model's estimate for
each self-supervised arm against plain transfer -> verdict, probability, interval, reasons,
caveats, flip conditions and a recipe. Every number in the output comes from the knowledge base,
the fitted model or a search over the same engine (the flip conditions); none is written here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from scipy.stats import norm

from advisor import __version__
from advisor.knowledge.base import (
    DENSE_TASKS,
    MEDICAL_DOMAINS,
    KnowledgeBase,
    Paradigm,
    Rule,
    Task,
    load_knowledge,
)
from advisor.knowledge.model import GainModel, load_model
from advisor.recipe import build_recipe, cite
from advisor.rules import direction, directions, fired_rules
from advisor.schema import (
    Analysis,
    ArmEstimate,
    DatasetCard,
    DecisionFeatures,
    Flip,
    Gain,
    ModelInfo,
    PilotEvidence,
    PilotResult,
    Reason,
    Recommendation,
)

LEVEL = 0.9
"""Coverage of the reported interval."""

THIN_EVIDENCE_WIDENING = 1.5
"""Factor on the predictive spread when the dataset lies outside what the fit rows cover (size,
domain or task): a convention, stated in the caveats whenever it applies."""

GRAYSCALE_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})

SSL_ARMS: tuple[Paradigm, Paradigm] = ("ssl", "tl+ssl")


def features_from_card(card: DatasetCard, kb: KnowledgeBase | None = None) -> DecisionFeatures:
    kb = kb or load_knowledge()
    entry = kb.domains[card.domain]
    if card.domain_gap is not None:
        gap, basis = card.domain_gap, "given in the card"
    elif entry.domain_gap is not None:
        gap = entry.domain_gap
        basis = f"typical of the {card.domain.value} domain ({entry.basis})"
    else:
        gap, basis = None, f"not known: the {card.domain.value} domain has no typical value"
    return DecisionFeatures(
        labeled_images=card.labeled_images,
        labeled_per_class=card.labeled_images / card.classes,
        unlabeled_images=card.unlabeled_images,
        pool_images=card.unlabeled_images + card.labeled_images,
        classes=card.classes,
        imbalance_ratio=card.imbalance_ratio,
        image_size=card.image_size,
        grayscale=card.grayscale,
        task=card.task,
        fine_grained=card.fine_grained,
        fine_grained_basis="given in the card",
        domain=card.domain,
        domain_gap=gap,
        domain_gap_basis=basis,
        medical=card.domain in MEDICAL_DOMAINS,
        dense=card.task in DENSE_TASKS,
        linear_probe_accuracy=card.linear_probe_accuracy,
        knn_accuracy=None,
        logme=None,
        pool_shift=None,
        source=card.source,
    )


def features_from_analysis(analysis: Analysis) -> DecisionFeatures | None:
    """Features of an analysed dataset; None without labeled images (nothing to advise on)."""
    profile, probes = analysis.profile, analysis.probes
    if profile.labeled == 0:
        return None
    classes = len(profile.classes) or None
    gap_value = probes.domain_gap.score.value if probes is not None else None
    if gap_value is not None:
        gap = gap_value
        basis = f"measured by the probes ({probes.backbone}, {probes.resolution} px)"
    else:
        gap, basis = None, "not measured: the probes did not run"
    transfer = probes.transferability if probes is not None else None
    return DecisionFeatures(
        labeled_images=profile.labeled,
        labeled_per_class=profile.labeled / classes if classes else None,
        unlabeled_images=profile.unlabeled,
        pool_images=profile.labeled + profile.unlabeled,
        classes=classes,
        imbalance_ratio=profile.imbalance.max_min_ratio if profile.imbalance else None,
        image_size=round(profile.sizes.short_side.median) if profile.files.images else None,
        grayscale=bool(profile.modes) and set(profile.modes) <= GRAYSCALE_MODES,
        task=Task.classification,
        fine_grained=False,
        fine_grained_basis="assumed: the images alone do not tell (the probes' separation "
        "threshold is not calibrated)",
        domain=None,
        domain_gap=gap,
        domain_gap_basis=basis,
        medical=False,
        dense=False,
        linear_probe_accuracy=transfer.linear_probe_accuracy.value if transfer else None,
        knn_accuracy=transfer.knn_accuracy.value if transfer else None,
        logme=transfer.logme.value if transfer else None,
        pool_shift=probes.domain_gap.pool_shift_pad.value if probes is not None else None,
        source=probes.backbone if probes is not None else "imagenet",
    )


class _Assessment:
    """The engine's estimate for one set of features (no wording, so flips can re-run it)."""

    def __init__(self, values: dict[str, Any], kb: KnowledgeBase, model: GainModel) -> None:
        self.fired = fired_rules(kb.rules, values)
        self.estimates: dict[Paradigm, tuple[float, float]] = {}
        for arm in SSL_ARMS:
            self.estimates[arm] = model.predict(directions(self.fired, values, arm))
        self.best = max(SSL_ARMS, key=lambda arm: (self.estimates[arm][0], self._preferred(arm)))
        mean = self.estimates[self.best][0]
        self.p_family = float(model.probabilities(mean))
        self.verdict: Paradigm = self.best if mean > 0 else "tl"

    def _preferred(self, arm: Paradigm) -> int:
        """Strength of the fired rules that prefer ``arm`` to the other self-supervised arm,
        the tie-break between two arms the model rates alike."""
        other = SSL_ARMS[1] if arm == SSL_ARMS[0] else SSL_ARMS[0]
        return sum(r.strength for r in self.fired if arm in r.favours and other in r.over)


def _gain(mean: float, sd: float, widen: float) -> Gain:
    half = norm.ppf(0.5 + LEVEL / 2) * sd * widen
    return Gain(
        mean=round(math.sinh(mean), 2),
        low=round(math.sinh(mean - half), 2),
        high=round(math.sinh(mean + half), 2),
        level=LEVEL,
    )


def _reason(rule: Rule, kb: KnowledgeBase) -> Reason:
    pushes = {direction(rule, arm) for arm in SSL_ARMS} - {0}
    if pushes == {1}:
        side = "ssl-family"
    elif pushes == {-1}:
        side = "tl"
    elif set(rule.favours) <= set(SSL_ARMS) and set(rule.over) <= set(SSL_ARMS):
        side = "within-ssl-family"
    else:
        side = "neutral"
    return Reason(
        rule=rule.id,
        text=rule.statement,
        favours=rule.favours,
        over=rule.over,
        direction=side,
        strength=rule.strength,
        secondary=rule.secondary,
        cites=[cite(kb, c.study, c.where) for c in rule.cites],
    )


def _coverage_caveats(features: DecisionFeatures, kb: KnowledgeBase, model: GainModel) -> list[str]:
    rows = [row for row in kb.results if row.id in set(model.fit_rows)]
    caveats = []
    sizes = [row.labeled_images for row in rows if row.labeled_images]
    if sizes and not min(sizes) <= features.labeled_images <= max(sizes):
        caveats.append(
            f"No comparison in the evidence had {features.labeled_images:,} labeled images "
            f"(they range from {min(sizes):,} to {max(sizes):,}); the estimate extrapolates."
        )
    if features.domain is not None and features.domain not in {row.domain for row in rows}:
        caveats.append(
            f"No comparison in the evidence is in the {features.domain.value} domain; the advice "
            "rests on the domain gap alone."
        )
    if features.task not in {row.task for row in rows}:
        caveats.append(
            f"No comparison in the evidence is a {features.task.value} task; the advice is "
            "carried over from the other tasks."
        )
    return caveats


def _caveats(features: DecisionFeatures, fired: list[Rule], coverage: list[str]) -> list[str]:
    caveats = list(coverage)
    if coverage:
        caveats.append(
            f"Because of that the interval is widened {THIN_EVIDENCE_WIDENING}x (a convention)."
        )
    if features.domain_gap is None:
        caveats.append(
            f"The domain gap is {features.domain_gap_basis}, so the rules that read it stayed "
            "silent; `advisor analyze` with its probes measures it."
        )
    elif not features.domain_gap_basis.startswith(("measured", "given")):
        caveats.append(
            f"The domain gap ({features.domain_gap:.2f}) is {features.domain_gap_basis}, not a "
            "measurement of these images; `advisor analyze` measures it."
        )
    if features.fine_grained_basis.startswith("assumed"):
        caveats.append(
            "The labels are taken as coarse, because the images alone do not tell; if they are "
            "fine-grained (species, models), say so in a card: it favours transfer."
        )
    if features.source not in ("imagenet-1k", "imagenet"):
        caveats.append(
            f"The evidence concerns ImageNet-1k starting points; transfer from {features.source} "
            "may be stronger or weaker than it assumes."
        )
    if features.unlabeled_images == 0:
        caveats.append(
            "There are no unlabeled images: self-supervision could only reuse the labeled "
            "images without their labels."
        )
    caveats.extend(
        f"Rule {rule.id} rests partly on secondary material (a third party's summary)."
        for rule in fired
        if rule.secondary
    )
    return caveats


def _bisect_int(flips: Callable[[int], bool], good: int, bad: int) -> int:
    """Smallest change between ``good`` (verdict kept) and ``bad`` (verdict flipped)."""
    while abs(bad - good) > 1:
        middle = (good + bad) // 2
        if flips(middle):
            bad = middle
        else:
            good = middle
    return bad


def _flips(
    features: DecisionFeatures, verdict: Paradigm, kb: KnowledgeBase, model: GainModel
) -> list[Flip]:
    base = features.model_dump()

    def verdict_with(**changes: Any) -> Paradigm:
        values = {**base, **changes}
        values["pool_images"] = values["unlabeled_images"] + values["labeled_images"]
        return _Assessment(values, kb, model).verdict

    def changes(new: Paradigm) -> bool:
        return (new == "tl") != (verdict == "tl")

    found: list[Flip] = []
    unlabeled = features.unlabeled_images
    if verdict == "tl":
        top = max(unlabeled, 1) * 10_000
        new = verdict_with(unlabeled_images=top)
        if changes(new):
            at = _bisect_int(lambda n: changes(verdict_with(unlabeled_images=n)), unlabeled, top)
            factor = f" ({at / unlabeled:.1f}x today)" if unlabeled else ""
            found.append(
                Flip(
                    feature="unlabeled_images",
                    value=at,
                    verdict=verdict_with(unlabeled_images=at),
                    text=f"with at least {at:,} unlabeled in-domain images"
                    f"{factor} the verdict would be {verdict_with(unlabeled_images=at)}",
                )
            )
    elif unlabeled > 0 and changes(verdict_with(unlabeled_images=0)):
        at = _bisect_int(lambda n: not changes(verdict_with(unlabeled_images=n)), 0, unlabeled)
        found.append(
            Flip(
                feature="unlabeled_images",
                value=at - 1,
                verdict="tl",
                text=f"with fewer than {at:,} unlabeled images the verdict would be tl",
            )
        )

    target_gap = 1.0 if verdict == "tl" else 0.0
    if changes(verdict_with(domain_gap=target_gap)):
        good = features.domain_gap
        if good is None:
            good = 1.0 - target_gap
        bad = target_gap
        while abs(bad - good) > 0.005:
            middle = (good + bad) / 2
            if changes(verdict_with(domain_gap=middle)):
                bad = middle
            else:
                good = middle
        edge = math.ceil(bad * 100) / 100 if verdict == "tl" else math.floor(bad * 100) / 100
        word = "at least" if verdict == "tl" else "at most"
        new = verdict_with(domain_gap=edge)
        now = "not known" if features.domain_gap is None else f"{features.domain_gap:.2f}"
        found.append(
            Flip(
                feature="domain_gap",
                value=edge,
                verdict=new,
                text=f"if the domain gap were {word} {edge:.2f} (it is {now}) the verdict "
                f"would be {new}",
            )
        )

    labeled = features.labeled_images
    for bound, word in ((max(1, labeled // 100), "at most"), (labeled * 100, "at least")):
        if changes(verdict_with(labeled_images=bound)):
            at = _bisect_int(lambda n: changes(verdict_with(labeled_images=n)), labeled, bound)
            new = verdict_with(labeled_images=at)
            found.append(
                Flip(
                    feature="labeled_images",
                    value=at,
                    verdict=new,
                    text=f"with {word} {at:,} labeled images the verdict would be {new}",
                )
            )
            break

    toggled = not features.fine_grained
    new = verdict_with(fine_grained=toggled)
    if changes(new):
        found.append(
            Flip(
                feature="fine_grained",
                value=float(toggled),
                verdict=new,
                text=f"if the labels were {'' if toggled else 'not '}fine-grained the "
                f"verdict would be {new}",
            )
        )
    return found


def recommend(
    features: DecisionFeatures,
    name: str | None = None,
    kb: KnowledgeBase | None = None,
    model: GainModel | None = None,
) -> Recommendation:
    kb = kb or load_knowledge()
    model = model or load_model()
    assessment = _Assessment(features.model_dump(), kb, model)
    coverage = _coverage_caveats(features, kb, model)
    widen = THIN_EVIDENCE_WIDENING if coverage else 1.0
    arms = {}
    for arm in SSL_ARMS:
        mean, sd = assessment.estimates[arm]
        arms[arm] = ArmEstimate(
            gain=_gain(mean, sd, widen),
            probability=round(float(model.probabilities(mean)), 3),
        )
    verdict = assessment.verdict
    p_family = assessment.p_family
    return Recommendation(
        tool_version=__version__,
        name=name,
        verdict=verdict,
        probability=round(p_family if verdict != "tl" else 1 - p_family, 3),
        expected_gain=arms[assessment.best].gain,
        arms=arms,
        reasons=[_reason(rule, kb) for rule in assessment.fired],
        caveats=_caveats(features, assessment.fired, coverage),
        flip=_flips(features, verdict, kb, model),
        recipe=build_recipe(features, verdict, kb),
        features=features,
        model=ModelInfo(
            method=model.method, fit_rows=model.metrics.rows, studies=model.metrics.studies
        ),
    )


def combine_with_pilot(
    rec: Recommendation,
    pilot: PilotResult,
    kb: KnowledgeBase | None = None,
    model: GainModel | None = None,
) -> Recommendation:
    """The literature's estimate for the pilot's best self-supervised arm, updated with what the
    pilot measured for it, each weighted by its precision (a normal-normal update on the asinh
    scale of the model). A pilot whose SSL arms were still improving when they lost is not taken
    as evidence against them: the verdict then stays the literature's, with a caveat."""
    kb = kb or load_knowledge()
    model = model or load_model()
    measured = [d for d in pilot.differences if d.arm in SSL_ARMS]
    if not measured:
        return rec.model_copy(
            update={"caveats": [*rec.caveats, "The pilot ran no self-supervised arm."]}
        )
    best = max(measured, key=lambda d: d.accuracy_points)
    if pilot.ssl_still_improving and best.accuracy_points <= 0:
        return rec.model_copy(
            update={
                "caveats": [
                    *rec.caveats,
                    "The pilot's self-supervised arms were still improving when its budget ran "
                    "out, so its result is not counted against them; run a longer pilot.",
                ]
            }
        )
    assessment = _Assessment(rec.features.model_dump(), kb, model)
    prior_mean, prior_sd = assessment.estimates[best.arm]
    points = best.accuracy_points
    z = norm.ppf(0.5 + best.level / 2)
    pilot_mean = math.asinh(points)
    # the interval's own ends carried to the asinh scale, so that an interval that spans 0
    # stays as wide there as it is in points
    pilot_sd = max((math.asinh(best.high) - math.asinh(best.low)) / (2 * z), 1e-3)
    weight = prior_sd**2 / (prior_sd**2 + pilot_sd**2)
    mean = weight * pilot_mean + (1 - weight) * prior_mean
    sd = math.sqrt(1 / (1 / prior_sd**2 + 1 / pilot_sd**2))
    p_arm = float(norm.cdf(mean / sd))
    verdict: Paradigm = best.arm if mean > 0 else "tl"
    gain = _gain(mean, sd, 1.0)
    arms = dict(rec.arms)
    arms[best.arm] = ArmEstimate(gain=gain, probability=round(p_arm, 3))
    return rec.model_copy(
        update={
            "verdict": verdict,
            "probability": round(p_arm if verdict != "tl" else 1 - p_arm, 3),
            "expected_gain": gain,
            "arms": arms,
            "caveats": [
                *rec.caveats,
                *pilot.caveats,
                "The flip conditions describe the literature's estimate, before the pilot.",
            ],
            "recipe": build_recipe(rec.features, verdict, kb),
            "pilot": PilotEvidence(
                arm=best.arm,
                measured_points=points,
                low=best.low,
                high=best.high,
                prior_points=round(math.sinh(prior_mean), 2),
                weight=round(weight, 3),
            ),
        }
    )
