"""A dataset described with the features the decision engine reads, from a card or from an
analysis, with where each value came from."""

from __future__ import annotations

from advisor.errors import InputError
from advisor.knowledge.base import KnowledgeBase, load_knowledge
from advisor.schema.analysis import Analysis
from advisor.schema.card import DatasetCard
from advisor.schema.decision import DecisionFeatures
from advisor.schema.profile import NoticeKind, Profile
from advisor.schema.vocabulary import (
    DENSE_TASKS,
    EVALUATION_SPLITS,
    MEDICAL_DOMAINS,
    Domain,
    Origin,
    PoolRelation,
    Protocol,
    Task,
    default_pool_relation,
    pool_without_images,
)

GRAYSCALE_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})

POOL_SHIFT_RELATED = 1.0
"""Proxy A-distance between labeled and unlabeled images from which the pool reads as another
collection (``related``) rather than more of the same one. Whether it is also another modality
or sensor (``other``) the distance cannot tell: that one is declared with ``--pool other``."""


DISAGREEMENT = 0.2
"""A measured domain gap this far from the declared domain's typical one is said to disagree."""


def _typical_gap(domain: Domain, kb: KnowledgeBase) -> tuple[float | None, str, Origin]:
    entry = kb.domains[domain]
    if entry.domain_gap is None:
        return None, f"not known: the {domain.value} domain has no typical value", Origin.unknown
    return entry.domain_gap, f"typical of the {domain.value} domain ({entry.basis})", Origin.typical


def pool_images(labeled: int, unlabeled: int, relation: PoolRelation) -> int:
    """Images self-supervision could use: the labeled ones only when the pool is ``same``."""
    return labeled if relation is PoolRelation.same else labeled + unlabeled


def features_from_card(card: DatasetCard, kb: KnowledgeBase | None = None) -> DecisionFeatures:
    kb = kb or load_knowledge()
    if card.domain_gap is not None:
        gap, basis, origin = card.domain_gap, "given in the card", Origin.given
    else:
        gap, basis, origin = _typical_gap(card.domain, kb)
    if card.pool is not None:
        relation, relation_basis, relation_origin = card.pool, "given in the card", Origin.given
    else:
        relation, relation_basis, relation_origin = _assumed_relation(
            card.unlabeled_images, "the default"
        )
    given_protocol = "protocol" in card.model_fields_set
    return DecisionFeatures(
        labeled_images=card.labeled_images,
        labeled_per_class=card.labeled_images / card.classes,
        unlabeled_images=card.unlabeled_images,
        pool_images=pool_images(card.labeled_images, card.unlabeled_images, relation),
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
        protocol=card.protocol,
        protocol_origin=Origin.given if given_protocol else Origin.assumed,
        pool_relation=relation,
        pool_relation_basis=relation_basis,
        pool_relation_origin=relation_origin,
    )


def _all_grayscale(profile: Profile) -> bool:
    """Every image is grayscale: in a grayscale mode, or RGB with equal channels."""
    gray_rgb = sum(n.count for n in profile.notices if n.kind == NoticeKind.grayscale_as_rgb)
    colour = {mode: n for mode, n in profile.modes.items() if mode not in GRAYSCALE_MODES}
    return bool(profile.modes) and set(colour) <= {"RGB"} and colour.get("RGB", 0) == gray_rgb


def training_labels(profile: Profile) -> int:
    """Labeled images a model learns from: those outside val/test when the data has both."""
    training = sum(
        counts.labeled for name, counts in profile.splits.items() if name not in EVALUATION_SPLITS
    )
    return training or profile.labeled


def _assumed_relation(unlabeled: int, why: str) -> tuple[PoolRelation, str, Origin]:
    relation = default_pool_relation(unlabeled)
    if relation is PoolRelation.same:
        return relation, "assumed: no unlabeled images, so only the labeled ones", Origin.assumed
    return relation, f"assumed: more images of the labeled ones' source ({why})", Origin.assumed


def _measured_relation(unlabeled: int, shift: float | None) -> tuple[PoolRelation, str, Origin]:
    if unlabeled == 0 or shift is None:
        return _assumed_relation(unlabeled, "the probes did not compare them")
    relation = PoolRelation.related if shift >= POOL_SHIFT_RELATED else PoolRelation.same_collection
    return (
        relation,
        f"measured: proxy A-distance {shift:.2f} between labeled and unlabeled images "
        f"({'at least' if relation is PoolRelation.related else 'below'} {POOL_SHIFT_RELATED:g})",
        Origin.measured,
    )


def no_advice_reason(analysis: Analysis) -> str | None:
    """Why an analysed dataset gets no recommendation (None: it gets one)."""
    profile = analysis.profile
    if profile.files.images == 0:
        return "No readable images were found, so there is nothing to advise on."
    if profile.labeled == 0:
        return (
            "No image has a label (labels come from class folders or a manifest), and the "
            "advice compares ways of learning from labels; add labeled images, or describe the "
            "dataset in a card for `advisor decide`."
        )
    if len(profile.classes) < 2:
        return "The labeled images are all of one class; the advice needs at least two."
    return None


def features_from_analysis(
    analysis: Analysis, kb: KnowledgeBase | None = None
) -> DecisionFeatures | None:
    """Features of an analysed dataset, with what the user declared used beside what the probes
    measured; None when there is no advice to give (``no_advice_reason`` says why).

    A declared domain's typical gap is used in place of the measured one: the gain model was
    fitted on the typical gaps of the studies' domains, so a declared domain puts the user on the
    scale of the evidence, and the probes' gap alone has read a set of brain MRI as near the
    source. The measured gap is still shown beside it."""
    kb = kb or load_knowledge()
    profile, probes, declared = analysis.profile, analysis.probes, analysis.declared
    if no_advice_reason(analysis) is not None:
        return None
    labeled = training_labels(profile)
    classes = len(profile.classes)
    gap_value = probes.domain_gap.score.value if probes is not None else None
    measured_gap = None
    if declared.domain is not None and kb.domains[declared.domain].domain_gap is not None:
        gap, basis, origin = _typical_gap(declared.domain, kb)
        basis += "; declared"
        measured_gap = gap_value
    elif gap_value is not None:
        gap = gap_value
        basis = f"measured by the probes ({probes.backbone}, {probes.resolution} px)"
        origin = Origin.measured
    else:
        gap, basis, origin = None, "not measured: the probes did not run", Origin.unknown
    transfer = probes.transferability if probes is not None else None
    shift = probes.domain_gap.pool_shift_pad.value if probes is not None else None
    relation, relation_basis, relation_origin = _measured_relation(profile.unlabeled, shift)
    measured_relation = None
    if declared.pool is not None:
        why = pool_without_images(declared.pool, profile.unlabeled)
        if why is not None:
            raise InputError(f"pool {why}", "pool")
        if relation_origin is Origin.measured and relation is not declared.pool:
            measured_relation = relation
        relation, relation_basis, relation_origin = declared.pool, "declared", Origin.given
    task = declared.task or Task.classification
    if declared.fine_grained is not None:
        fine, fine_basis, fine_origin = declared.fine_grained, "declared", Origin.given
    else:
        fine, fine_origin = False, Origin.assumed
        fine_basis = "assumed: the images alone do not tell"
    return DecisionFeatures(
        labeled_images=labeled,
        labeled_per_class=labeled / classes,
        unlabeled_images=profile.unlabeled,
        pool_images=pool_images(labeled, profile.unlabeled, relation),
        classes=classes,
        imbalance_ratio=profile.imbalance.max_min_ratio if profile.imbalance else None,
        image_size=round(profile.sizes.short_side.median) if profile.files.images else None,
        low_resolution_share=profile.quality.resolution.below_half if profile.quality else None,
        grayscale=_all_grayscale(profile),
        task=task,
        fine_grained=fine,
        fine_grained_basis=fine_basis,
        fine_grained_origin=fine_origin,
        domain=declared.domain,
        domain_gap=gap,
        domain_gap_basis=basis,
        domain_gap_origin=origin,
        medical=declared.domain in MEDICAL_DOMAINS,
        dense=task in DENSE_TASKS,
        linear_probe_accuracy=transfer.linear_probe_accuracy.value if transfer else None,
        knn_accuracy=transfer.knn_accuracy.value if transfer else None,
        logme=transfer.logme.value if transfer else None,
        pool_shift=shift,
        source=probes.backbone if probes is not None else "imagenet",
        protocol=declared.protocol or Protocol.fine_tune,
        protocol_origin=Origin.given if declared.protocol is not None else Origin.assumed,
        pool_relation=relation,
        pool_relation_basis=relation_basis,
        pool_relation_origin=relation_origin,
        measured_domain_gap=measured_gap,
        measured_pool_relation=measured_relation,
    )
