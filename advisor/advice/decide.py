"""The decision engine: from a card or an analysis to a verdict with its evidence.

Data flow: features (card, profile, probes) -> the rules that fire -> the gain model's estimate
for each self-supervised arm, and the self-training model's for tl+st, against plain transfer ->
verdict, probability, interval, reasons, caveats, flip conditions and a recipe. Every number in
the output comes from the knowledge base, the fitted models or a search over the same engine
(the flip conditions); none is written here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

from advisor import __version__
from advisor.advice.assessment import TOSS_UP, Assessment, decision
from advisor.advice.cost import affordable, forecast, recost
from advisor.advice.features import DISAGREEMENT
from advisor.advice.flips import flips
from advisor.advice.recipe import build_recipe, cite
from advisor.advice.rules import direction
from advisor.advice.self_training import estimate
from advisor.advice.settings import ComputeSettings
from advisor.knowledge.base import KnowledgeBase, load_knowledge
from advisor.knowledge.costs import load_costs
from advisor.knowledge.model import GainModel, load_model, load_self_training_model
from advisor.schema.cost import CostForecast, Throughput
from advisor.schema.decision import (
    ArmEstimate,
    DecisionFeatures,
    Flip,
    Gain,
    ModelInfo,
    PilotEvidence,
    Reason,
    RecipeItem,
    Recommendation,
)
from advisor.schema.knowledge import Rule
from advisor.schema.pilot import PilotResult
from advisor.schema.vocabulary import (
    DECISION_LEVEL,
    LINEAR_READING,
    SELF_TRAINING,
    SSL_ARMS,
    TRANSFER,
    Origin,
    Paradigm,
)

STANDARD_NORMAL = NormalDist()
"""The standard library's normal distribution: scipy.stats would add half a second to every
start of the command for two quantiles."""


METRIC_POINTS = 100.0
"""The width of an accuracy (or AUC, or F1) in points: no gain can pass it either way."""


def gain_ceiling(features: DecisionFeatures) -> float:
    """The largest gain any arm can have over transfer on these data: the headroom
    above the transfer arm, which is at least what the pretrained features reach under a linear
    probe (fine-tuning them does not do worse in the evidence), or the whole scale when no probe
    measured it."""
    reached = features.linear_probe_accuracy
    if reached is None:
        return METRIC_POINTS
    return max(round(METRIC_POINTS * (1 - reached), 2), 0.01)


def _gain(mean: float, sd: float, ceiling: float) -> Gain:
    """The predictive normal on the asinh scale carried to points; its quantiles are clipped to
    what the metric allows, which are the quantiles of the clipped distribution."""
    half = STANDARD_NORMAL.inv_cdf(0.5 + DECISION_LEVEL / 2) * sd

    def points(z: float) -> float:
        return round(min(max(math.sinh(z), -METRIC_POINTS), ceiling), 2)

    return Gain(
        mean=points(mean),
        low=points(mean - half),
        high=points(mean + half),
        level=DECISION_LEVEL,
        ceiling=ceiling,
    )


def _reason(rule: Rule, kb: KnowledgeBase, model: GainModel) -> Reason:
    family = {direction(rule, arm) for arm in SSL_ARMS} - {0}
    pushes = family | ({direction(rule, SELF_TRAINING)} - {0})
    if pushes == {1}:
        side = "ssl-family" if family else "self-training"
    elif pushes == {-1}:
        side = "tl"
    elif set(rule.favours) <= set(SSL_ARMS) and set(rule.over) <= set(SSL_ARMS):
        side = "within-ssl-family"
    else:
        side = "neutral"
    check = model.check(rule.id)
    return Reason(
        rule=rule.id,
        model_check=check.status if check is not None else None,
        text=rule.statement,
        favours=rule.favours,
        over=rule.over,
        direction=side,
        strength=rule.strength,
        secondary=rule.secondary,
        cites=[cite(kb, c.study, c.where) for c in rule.cites],
    )


THIN_NOTE = "Self-training (tl+st) is shown but not weighed in the verdict"
"""How the caveat on thin self-training evidence begins: a pilot that measured it replaces it."""


def _self_training_caveats(
    features: DecisionFeatures, assessment: Assessment, kb: KnowledgeBase, st_model: GainModel
) -> list[str]:
    """What the self-training estimate cannot say: thin evidence (it is then shown, never
    named), and a domain none of its comparisons was in when the verdict names it."""
    st = assessment.self_training
    if st is None:
        return []
    caveats = []
    if st.thin is not None:
        caveats.append(f"{THIN_NOTE}: the evidence for it is thin ({st.thin}).")
    fitted = set(st_model.fit_rows)
    domains = {row.domain for row in kb.results if row.id in fitted}
    if assessment.best == SELF_TRAINING and features.domain not in (None, *domains):
        caveats.append(
            f"No comparison of self-training with transfer is in the {features.domain.value} "
            f"domain; its estimate is carried over from "
            f"{', '.join(sorted(d.value for d in domains))}."
        )
    return caveats


def _coverage_caveats(
    features: DecisionFeatures, best: Paradigm, kb: KnowledgeBase, model: GainModel
) -> list[str]:
    fitted = set(model.fit_rows)
    rows = [row for row in kb.results if row.id in fitted]
    caveats = []
    continued = {row.domain for row in rows if row.continued}
    if best == "tl+ssl" and features.domain is not None and features.domain not in continued:
        caveats.append(
            f"No comparison in the evidence continued self-supervision from ImageNet weights in "
            f"the {features.domain.value} domain; what continuing adds is carried over from "
            f"{', '.join(sorted(d.value for d in continued))}."
        )
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


def _caveats(
    features: DecisionFeatures, fired: list[Rule], coverage: list[str], model: GainModel
) -> list[str]:
    caveats = list(coverage)
    if features.domain_gap is None:
        caveats.append(
            f"The domain gap is {features.domain_gap_basis}, so the estimate takes the middle of "
            "its scale; `advisor analyze` with its probes measures it."
        )
    elif (
        features.domain_gap_origin not in (Origin.measured, Origin.given)
        and features.measured_domain_gap is None
    ):
        caveats.append(
            f"The domain gap ({features.domain_gap:.2f}) is {features.domain_gap_basis}, not a "
            "measurement of these images; `advisor analyze` measures it."
        )
    if features.fine_grained_origin is Origin.assumed:
        caveats.append(
            "The labels are taken as coarse, because the images alone do not tell; if they are "
            "fine-grained (species, models), say so (`--fine-grained`, or fine_grained: true in "
            "a card): it favours transfer."
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
    measured = features.measured_domain_gap
    if measured is not None and features.domain is not None:
        typical = features.domain_gap
        agree = typical is not None and abs(measured - typical) < DISAGREEMENT
        caveats.append(
            f"You declared the {features.domain.value} domain, whose typical gap "
            f"({'none' if typical is None else f'{typical:.2f}'}) the estimate uses; the probes "
            f"measured {measured:.2f} on these images"
            + (", in line with it." if agree else ", which does not agree with it.")
        )
    if features.measured_pool_relation is not None:
        caveats.append(
            f"You declared the unlabeled pool '{features.pool_relation.value}'; the probes' "
            f"distance between labeled and unlabeled images suggests "
            f"'{features.measured_pool_relation.value}'."
        )
    caveats.extend(
        f"Rule {rule.id} rests partly on secondary material (a third party's summary)."
        for rule in fired
        if rule.secondary
    )
    for rule in fired:
        check = model.check(rule.id)
        if check is not None and check.status == "contradicted":
            caveats.append(
                f"The fitted model contradicts rule {rule.id}: its {check.term} coefficient is "
                f"{check.coefficient:+.2f} (90% interval {check.low:+.2f} to {check.high:+.2f}), "
                "against the rule's direction; the estimate follows the fit."
            )
    return caveats


def _toss_up_note(p_best: float, arm: Paradigm) -> str:
    return (
        f"Toss-up: the evidence gives the likeliest alternative ({arm}) {p_best:.0%} against "
        f"transfer, short of the {TOSS_UP:.0%} either way that a verdict needs. Transfer is "
        "named because it needs no pretraining compute; a pilot (`advisor pilot`) on your data "
        "is what will decide."
    )


def _within_budget(
    arm: Paradigm,
    p_arm: float,
    cost: CostForecast | None,
    chances: dict[Paradigm, float],
) -> tuple[Paradigm, bool, float, Paradigm]:
    """The verdict, whether it is a toss-up, the probability of its side, and the arm that
    probability is about, for ``arm`` (the likeliest to beat transfer, with ``p_arm``) once the
    arms the compute budget cannot pay for are set aside: the likeliest affordable arm decides
    by the same rule as the engine, and transfer is named when none can (its probability is
    then against the likeliest arm of all). ``chances``: each arm's probability of beating
    transfer (the arms a verdict may name)."""
    verdict, toss_up = decision(p_arm, arm)
    if cost is None or verdict == TRANSFER or affordable(cost, verdict):
        return verdict, toss_up, p_arm if verdict != TRANSFER else 1 - p_arm, arm
    paid = [a for a in chances if affordable(cost, a)]
    if not paid:
        return TRANSFER, False, 1 - p_arm, arm
    best = max(paid, key=chances.__getitem__)
    named, tie = decision(chances[best], best)
    return named, tie, chances[best] if named != TRANSFER else 1 - chances[best], best


def _budget_flips(
    cost: CostForecast, verdict: Paradigm, unbudgeted: Paradigm, chances: dict[Paradigm, float]
) -> list[Flip]:
    """Where the compute budget changes the verdict: the budget that pays for the verdict the
    evidence alone gives, or the budget below which the present one is no longer affordable."""
    if cost.budget_hours is None:
        return []
    if verdict != unbudgeted:
        hours = cost.arm(unbudgeted).hours
        assert hours is not None  # an arm without a forecast is never set aside
        return [
            Flip(
                feature="compute_budget_hours",
                value=hours.mean,
                verdict=unbudgeted,
                text=f"with at least {hours.mean:,g} device-hours the verdict would be "
                f"{unbudgeted}",
            )
        ]
    hours = cost.arm(verdict).hours
    if verdict == TRANSFER or hours is None:
        return []
    short = cost.model_copy(update={"budget_hours": math.nextafter(hours.mean, 0)})
    other = _within_budget(verdict, chances[verdict], short, chances)[0]
    return [
        Flip(
            feature="compute_budget_hours",
            value=hours.mean,
            verdict=other,
            text=f"with fewer than {hours.mean:,g} device-hours the verdict would be {other}",
        )
    ]


BUDGET_NOTE = "Your compute budget of"
"""How the caveat that the budget changed the verdict begins: a pilot's blend replaces it."""


def _budget_note(cost: CostForecast, unbudgeted: Paradigm, verdict: Paradigm) -> str:
    hours = cost.arm(unbudgeted).hours
    assert hours is not None and cost.budget_hours is not None
    return (
        f"{BUDGET_NOTE} {cost.budget_hours:,g} device-hours does not pay for "
        f"{unbudgeted}, which the evidence favours (about {hours.mean:,g} device-hours on "
        f"{cost.device}); the verdict names {verdict}, the best arm within the budget."
    )


def _model_info(model: GainModel) -> ModelInfo:
    metrics = model.metrics
    return ModelInfo(method=model.method, fit_rows=metrics.rows, studies=metrics.studies)


def recommend(
    features: DecisionFeatures,
    name: str | None = None,
    kb: KnowledgeBase | None = None,
    model: GainModel | None = None,
    compute: ComputeSettings | None = None,
    throughput: Throughput | None = None,
    architecture: str | None = None,
    st_model: GainModel | None = None,
) -> Recommendation:
    """``compute``: the budget, price and reference device of the cost forecast;
    ``throughput``: the backbone's rates measured on the user's device (``architecture``), or
    None to forecast for a reference device; ``st_model``: the self-training model (the
    shipped one by default)."""
    kb = kb or load_knowledge()
    model = model or load_model()
    st_model = st_model or load_self_training_model()
    compute = compute or ComputeSettings()
    costs = load_costs()
    cost = forecast(
        costs,
        features.pool_images,
        features.labeled_images,
        throughput,
        compute,
        architecture,
        features.unlabeled_images,
    )
    assessment = Assessment(features.model_dump(), kb, model, st_model)
    coverage = _coverage_caveats(features, assessment.best, kb, model)
    ceiling = gain_ceiling(features)
    arms = {}
    for arm, (mean, sd) in assessment.estimates.items():
        st = assessment.self_training if arm == SELF_TRAINING else None
        arms[arm] = ArmEstimate(
            gain=_gain(mean, sd, ceiling),
            probability=round(model.probability(mean, sd), 3),
            thin=st.thin if st is not None else None,
        )
    chances = assessment.chances
    verdict, toss_up, p_side, weighed = _within_budget(
        assessment.best, assessment.p_best, cost, chances
    )
    caveats = _caveats(features, assessment.fired, coverage, model)
    caveats.extend(_self_training_caveats(features, assessment, kb, st_model))
    if toss_up:
        caveats.insert(0, _toss_up_note(1 - p_side, weighed))
    if verdict != assessment.verdict:
        cost = cost.model_copy(update={"unbudgeted_verdict": assessment.verdict})
        caveats.append(_budget_note(cost, assessment.verdict, verdict))
    tl_hours = cost.arm(TRANSFER).hours
    if cost.budget_hours is not None and tl_hours is not None and not affordable(cost, TRANSFER):
        caveats.append(
            f"Even fine-tuning alone (tl, about {tl_hours.mean:,g} device-hours on "
            f"{cost.device}) is more than your compute budget of {cost.budget_hours:,g} "
            "device-hours: fewer epochs, a smaller network or a faster device would fit it."
        )

    def judge(values: dict[str, Any]) -> Paradigm:
        moved = Assessment(values, kb, model, st_model)
        here = recost(
            cost, costs, values["pool_images"], values["labeled_images"], values["unlabeled_images"]
        )
        return _within_budget(moved.best, moved.p_best, here, moved.chances)[0]

    return Recommendation(
        tool_version=__version__,
        name=name,
        verdict=verdict,
        probability=round(p_side, 3),
        toss_up=toss_up,
        contender=weighed,
        expected_gain=arms[weighed].gain,
        arms=arms,
        reasons=[_reason(rule, kb, model) for rule in assessment.fired],
        caveats=caveats,
        flip=[
            *flips(features, verdict, judge, _thin_note(kb, st_model)),
            *_budget_flips(cost, verdict, assessment.verdict, chances),
        ],
        recipe=build_recipe(features, verdict, kb),
        features=features,
        model=_model_info(model),
        self_training_model=_model_info(st_model),
        cost=cost,
    )


def _thin_note(kb: KnowledgeBase, st_model: GainModel) -> Callable[[dict[str, Any]], str]:
    """What a flip adds when self-training's evidence is thin where it lands: a verdict that
    leaves ``tl+st`` there does so because its comparisons end, not because they disagree."""

    def note(values: dict[str, Any]) -> str:
        st = estimate(values, kb, st_model)
        if st is None or st.thin is None:
            return ""
        return f" (self-training's evidence is thin there: {st.thin})"

    return note


FAMILIES: tuple[tuple[Paradigm, ...], ...] = (SSL_ARMS, (SELF_TRAINING,))
"""The arms a pilot's measurement speaks for together: one self-supervised arm's result stands
for its family (the pilot's best of them does), and self-training for itself."""


def combine_with_pilot(
    rec: Recommendation,
    pilot: PilotResult,
    kb: KnowledgeBase | None = None,
    model: GainModel | None = None,
    st_model: GainModel | None = None,
) -> Recommendation:
    """The literature's estimates moved towards what the pilot measured (``_PilotBlend``), so
    that a pilot that found no clear winner can move them only towards its own uncertainty;
    the flip conditions are searched on the same blend, so they stay true after a pilot changed
    the verdict.

    Each family (``FAMILIES``) the pilot measured is represented by its best measured arm,
    blended; a family it did not measure keeps the literature's estimate of its likeliest arm;
    the verdict weighs them by the engine's rule. A pilot's measurement of self-training counts
    even where its published evidence is thin: it is evidence about these data. A result counts
    whichever way it points: what a longer run may change is already in the width of the
    pilot's intervals. A pilot too short to judge (fine-tuned ``tl`` had not left the frozen
    reading) is not combined at all, and an arm whose run failed is not taken as evidence."""
    kb = kb or load_knowledge()
    model = model or load_model()
    st_model = st_model or load_self_training_model()
    values = rec.features.model_dump()
    assessment = Assessment(values, kb, model, st_model)
    failed = {f.arm for f in pilot.failed_runs}
    measured = {
        d.arm: d for d in pilot.differences if d.arm in assessment.estimates and d.arm not in failed
    }
    notes = [*rec.caveats, *_projected(pilot)]
    if pilot.winner == LINEAR_READING:
        notes.append(
            "The pilot's best was the frozen pretrained features with a linear head: the "
            "recipe follows it."
        )
    if pilot.too_short is not None:
        notes.append(
            "The pilot is not combined with the literature: it was too short to judge. "
            + pilot.too_short
        )
        return _with_linear_protocol(rec.model_copy(update={"caveats": notes}), pilot)
    if not measured:
        notes.append("The pilot ran no self-supervised or self-training arm it could count.")
        return _with_linear_protocol(rec.model_copy(update={"caveats": notes}), pilot)
    blends = {arm: _PilotBlend(d) for arm, d in measured.items()}
    chances = dict(assessment.chances)
    for arm, blend in blends.items():
        chances[arm] = blend(*assessment.estimates[arm])[2]
    best = _family_best(chances, measured)
    arm_evidence = (
        best if best in measured else max(measured, key=lambda a: measured[a].accuracy_points)
    )
    unbudgeted, _ = decision(chances[best], best)
    verdict, toss_up, p_side, weighed = _within_budget(best, chances[best], rec.cost, chances)
    p_side = _reported(p_side)
    cost = rec.cost
    if cost is not None:
        cost = cost.model_copy(
            update={"unbudgeted_verdict": unbudgeted if verdict != unbudgeted else None}
        )
    ceiling = gain_ceiling(rec.features)
    arms = dict(rec.arms)
    for arm, blend in blends.items():
        mean, sd, p_arm, _ = blend(*assessment.estimates[arm])
        arms[arm] = ArmEstimate(gain=_gain(mean, sd, ceiling), probability=_reported(p_arm))
    prior_mean, prior_sd = assessment.estimates[arm_evidence]
    weight = blends[arm_evidence](prior_mean, prior_sd)[3]

    def judge(values: dict[str, Any]) -> Paradigm:
        moved = Assessment(values, kb, model, st_model)
        odds = dict(moved.chances)
        for arm, blend in blends.items():
            if arm in moved.estimates:  # self-training needs unlabeled images left
                odds[arm] = blend(*moved.estimates[arm])[2]
        here = cost
        if cost is not None:
            here = recost(
                cost,
                load_costs(),
                values["pool_images"],
                values["labeled_images"],
                values["unlabeled_images"],
            )
        top = _family_best(odds, {a: d for a, d in measured.items() if a in moved.estimates})
        return _within_budget(top, odds[top], here, odds)[0]

    # the literature's own toss-up note (always first) gives way to the blend's
    kept = notes[1:] if rec.toss_up else notes
    if SELF_TRAINING in measured:
        thin = rec.arms.get(SELF_TRAINING)
        kept = [c for c in kept if not c.startswith(THIN_NOTE)]
        if thin is not None and thin.thin is not None:
            kept.append(
                f"Self-training's published evidence is thin here ({thin.thin}); the pilot's "
                "measurement of it is what the verdict weighs."
            )
    caveats = [_toss_up_note(1 - p_side, weighed), *kept] if toss_up else kept
    kept_notes = [c for c in caveats if not c.startswith(BUDGET_NOTE)]
    if cost is not None and cost.unbudgeted_verdict is not None:
        kept_notes.append(_budget_note(cost, cost.unbudgeted_verdict, verdict))
    combined = rec.model_copy(
        update={
            "verdict": verdict,
            "probability": round(p_side, 3),
            "toss_up": toss_up,
            "contender": weighed,
            "expected_gain": arms[weighed].gain,
            "arms": arms,
            "caveats": [
                *kept_notes,
                *pilot.caveats,
                "The flip conditions combine the literature's estimate with the pilot's "
                "measurement, as the verdict does.",
            ],
            "flip": [
                *flips(rec.features, verdict, judge, _thin_note(kb, st_model)),
                *(_budget_flips(cost, verdict, unbudgeted, chances) if cost else []),
            ],
            "cost": cost,
            "recipe": build_recipe(rec.features, verdict, kb),
            "pilot": PilotEvidence(
                arm=arm_evidence,
                measured_points=measured[arm_evidence].accuracy_points,
                low=measured[arm_evidence].low,
                high=measured[arm_evidence].high,
                prior_points=round(math.sinh(prior_mean), 2),
                weight=round(weight, 3),
            ),
        }
    )
    return _with_linear_protocol(combined, pilot)


def _family_best(chances: dict[Paradigm, float], measured: dict[Paradigm, Any]) -> Paradigm:
    """The arm the verdict weighs: in each family, the pilot's best measured arm when it
    measured one (by its measured points), else the likeliest arm the literature weighs; then
    the likeliest of those."""
    picks = []
    for family in FAMILIES:
        ran = [arm for arm in family if arm in measured]
        if ran:
            picks.append(max(ran, key=lambda arm: measured[arm].accuracy_points))
        else:
            picks.extend(arm for arm in family if arm in chances)
    return max(picks, key=chances.__getitem__)


PILOT_CERTAINTY = 0.99
"""The most a probability combined with a pilot may say: a pilot is a short run on a sample
of the data, and the drift measured against longer runs (``stats.DRIFT_POINTS``) comes from a
handful of datasets, so no combination of it with the literature is certain."""


def _reported(p: float) -> float:
    """A probability combined with a pilot as it is reported: within ``PILOT_CERTAINTY`` of 0
    and 1 (the verdict is chosen on the probabilities themselves)."""
    return round(min(max(p, 1 - PILOT_CERTAINTY), PILOT_CERTAINTY), 3)


class _PilotBlend:
    """A prior estimate (asinh scale) averaged with a pilot's measured difference by the
    pilot's share of the precision.

    The two are averaged, not multiplied as independent evidence would be: the literature is
    about other datasets and the pilot about a short run on this one, so neither makes the
    other more certain. With the spreads averaged by the same weights as the means, the
    probability always lies between the literature's and the pilot's own."""

    def __init__(self, measured) -> None:
        z = STANDARD_NORMAL.inv_cdf(0.5 + measured.level / 2)
        self.mean = math.asinh(measured.accuracy_points)
        # the interval's own ends carried to the asinh scale, so that an interval that spans 0
        # stays as wide there as it is in points
        self.sd = max((math.asinh(measured.high) - math.asinh(measured.low)) / (2 * z), 1e-3)

    def __call__(self, prior_mean: float, prior_sd: float) -> tuple[float, float, float, float]:
        """Mean, spread, P(arm beats transfer) and the pilot's weight."""
        weight = prior_sd**2 / (prior_sd**2 + self.sd**2)
        mean = weight * self.mean + (1 - weight) * prior_mean
        sd = weight * self.sd + (1 - weight) * prior_sd
        return mean, sd, STANDARD_NORMAL.cdf(mean / sd), weight


def _projected(pilot: PilotResult) -> list[str]:
    """The pilot's projections, labelled as such: shown beside the estimate, never combined
    into it (a fit through a few readings weighs less than any measurement)."""
    return [
        f"Projection, not a measurement, and not counted in the estimate: at 10x the pilot's "
        f"{p.steps_measured} self-supervised steps, {p.arm}'s features would be "
        f"{p.gain_10x.mean:+.1f} k-NN points from the frozen pretrained ones "
        f"({p.gain_10x.level:.0%} interval {p.gain_10x.low:+.1f} to {p.gain_10x.high:+.1f})."
        for p in pilot.projections
        if p.gain_10x is not None
    ]


def _with_linear_protocol(rec: Recommendation, pilot: PilotResult) -> Recommendation:
    """When the pilot's clear winner is the frozen reading, the recipe says so in place of
    fine-tuning the whole network."""
    linear = next((d for d in pilot.differences if d.arm == LINEAR_READING), None)
    if pilot.winner != LINEAR_READING or linear is None or rec.verdict != TRANSFER:
        return rec
    step = RecipeItem(
        step="protocol",
        detail="Keep the pretrained network frozen and train a linear head on its features: in "
        f"your pilot that beat fine-tuning the whole network by {linear.accuracy_points:+.1f} "
        f"points ({linear.level:.0%} interval {linear.low:+.1f} to {linear.high:+.1f}).",
        cites=[],
        convention=False,
        from_pilot=True,
    )
    recipe = [step if item.step == "fine-tune" else item for item in rec.recipe]
    return rec.model_copy(update={"recipe": recipe})
