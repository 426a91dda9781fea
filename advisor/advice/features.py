"""A dataset described with the features the decision engine reads, from a card or from an
analysis, with where each value came from."""

from __future__ import annotations

from advisor.knowledge.base import KnowledgeBase, load_knowledge
from advisor.schema.analysis import Analysis
from advisor.schema.card import DatasetCard
from advisor.schema.decision import DecisionFeatures
from advisor.schema.profile import NoticeKind, Profile
from advisor.schema.vocabulary import DENSE_TASKS, MEDICAL_DOMAINS, Origin, Task

GRAYSCALE_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def features_from_card(card: DatasetCard, kb: KnowledgeBase | None = None) -> DecisionFeatures:
    kb = kb or load_knowledge()
    entry = kb.domains[card.domain]
    if card.domain_gap is not None:
        gap, basis, origin = card.domain_gap, "given in the card", Origin.given
    elif entry.domain_gap is not None:
        gap = entry.domain_gap
        basis = f"typical of the {card.domain.value} domain ({entry.basis})"
        origin = Origin.typical
    else:
        gap, basis = None, f"not known: the {card.domain.value} domain has no typical value"
        origin = Origin.unknown
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
        fine_grained_origin=Origin.given,
        domain=card.domain,
        domain_gap=gap,
        domain_gap_basis=basis,
        domain_gap_origin=origin,
        medical=card.domain in MEDICAL_DOMAINS,
        dense=card.task in DENSE_TASKS,
        linear_probe_accuracy=card.linear_probe_accuracy,
        knn_accuracy=None,
        logme=None,
        pool_shift=None,
        source=card.source,
    )


def _all_grayscale(profile: Profile) -> bool:
    """Every image is grayscale: in a grayscale mode, or RGB with equal channels."""
    gray_rgb = sum(n.count for n in profile.notices if n.kind == NoticeKind.grayscale_as_rgb)
    colour = {mode: n for mode, n in profile.modes.items() if mode not in GRAYSCALE_MODES}
    return bool(profile.modes) and set(colour) <= {"RGB"} and colour.get("RGB", 0) == gray_rgb


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
        origin = Origin.measured
    else:
        gap, basis, origin = None, "not measured: the probes did not run", Origin.unknown
    transfer = probes.transferability if probes is not None else None
    return DecisionFeatures(
        labeled_images=profile.labeled,
        labeled_per_class=profile.labeled / classes if classes else None,
        unlabeled_images=profile.unlabeled,
        pool_images=profile.labeled + profile.unlabeled,
        classes=classes,
        imbalance_ratio=profile.imbalance.max_min_ratio if profile.imbalance else None,
        image_size=round(profile.sizes.short_side.median) if profile.files.images else None,
        grayscale=_all_grayscale(profile),
        task=Task.classification,
        fine_grained=False,
        fine_grained_basis="assumed: the images alone do not tell (the probes' separation "
        "threshold is not calibrated)",
        fine_grained_origin=Origin.assumed,
        domain=None,
        domain_gap=gap,
        domain_gap_basis=basis,
        domain_gap_origin=origin,
        medical=False,
        dense=False,
        linear_probe_accuracy=transfer.linear_probe_accuracy.value if transfer else None,
        knn_accuracy=transfer.knn_accuracy.value if transfer else None,
        logme=transfer.logme.value if transfer else None,
        pool_shift=probes.domain_gap.pool_shift_pad.value if probes is not None else None,
        source=probes.backbone if probes is not None else "imagenet",
    )
