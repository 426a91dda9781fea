"""The words every layer shares: paradigms and pilot arms, domains, tasks, kinds of comparison,
the demo's options, the interval levels and the names of the documents.

Defined once, at the bottom of the package, with nothing but the standard library: the command
line imports this module at start-up to build its options, and the knowledge loader, the engine,
the pilot and the renderers all name a paradigm the same way.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

SCHEMA_VERSION = "1.0"

Paradigm = Literal["tl", "ssl", "tl+ssl", "tl+st"]
"""What the advice chooses between: transfer, self-supervision from scratch, both, or transfer
then self-training on the unlabeled images (a teacher's pseudo-labels)."""

ArmName = Literal["scratch", "tl", "ssl", "tl+ssl", "tl+st", "tl-linear"]
"""What a pilot trains: the four paradigms, the untrained baseline, and the free reading of the
frozen pretrained features under a logistic regression."""

TRANSFER: Paradigm = "tl"
"""The arm every comparison is against."""

SSL_ARMS: tuple[Paradigm, Paradigm] = ("ssl", "tl+ssl")
"""The self-supervised family."""

SELF_TRAINING: Paradigm = "tl+st"
"""Transfer, then self-training: the network fine-tuned on the labels (the teacher) labels the
unlabeled images it is confident on, and a student started from the same pretrained weights
learns from both. Not a member of the self-supervised family: its evidence and its estimate are
its own."""

PILOT_ARMS: tuple[ArmName, ...] = ("tl", "tl+st", "tl+ssl", "ssl", "scratch")
"""The arms a pilot can train, in the order it trains them (the teacher of ``tl+st`` is the
same seed's ``tl`` network, so ``tl`` comes first)."""

LINEAR_READING: ArmName = "tl-linear"
"""Not trained: read off the pretrained features in every pilot."""

SslMethod = Literal["simclr", "byol"]
SSL_METHODS: tuple[SslMethod, ...] = ("simclr", "byol")
"""The self-supervised methods a pilot can pretrain with (lightly's losses, heads and views)."""

PILOT_CPU_RESOLUTION = 64
PILOT_CPU_BATCH = 32
"""The pilot's input size and batch on a CPU (``advisor/pilot/runner.py`` says why); the probes
time training at them too, so that a pilot's steps can be forecast before it runs."""

FULL_SCALE_RESOLUTION = 224
"""The input size of the published training schedules, and of the full-scale run a cost
forecast is for."""

DECISION_LEVEL = 0.9
"""Coverage of the engine's interval on the expected gain. It is a predictive range for a new
dataset, drawn from studies that disagree a good deal, and serves to plan with rather than to
test a claim: 90% keeps it from being set by the far tails of that spread."""

PILOT_LEVEL = 0.95
"""Coverage of the pilot's paired bootstrap intervals. These decide whether a measured winner is
clear (the interval against transfer excludes 0), a claim held to the customary 5% error."""


class Domain(StrEnum):
    natural = "natural"
    fine_grained_natural = "fine-grained-natural"
    scene = "scene"
    remote_sensing = "remote-sensing"
    medical_xray = "medical-xray"
    medical_ct_mri = "medical-ct-mri"
    medical_pathology = "medical-pathology"
    medical_other = "medical-other"
    microscopy = "microscopy"
    document = "document"
    industrial = "industrial"
    synthetic = "synthetic"
    spectrogram = "spectrogram"
    other = "other"


MEDICAL_DOMAINS = frozenset(
    {Domain.medical_xray, Domain.medical_ct_mri, Domain.medical_pathology, Domain.medical_other}
)


class Task(StrEnum):
    classification = "classification"
    multilabel = "multilabel"
    detection = "detection"
    segmentation = "segmentation"
    retrieval = "retrieval"


DENSE_TASKS = frozenset({Task.detection, Task.segmentation})
CLASSIFICATION_TASKS = frozenset({Task.classification, Task.multilabel})


class Protocol(StrEnum):
    """How the network will be used on the labels: fine-tuned whole, or frozen with a linear or
    k-nearest-neighbour reading of its features."""

    fine_tune = "fine-tune"
    linear = "linear"
    knn = "knn"


FROZEN_PROTOCOLS = frozenset({Protocol.linear, Protocol.knn})


class PoolRelation(StrEnum):
    """Where the images for self-supervision come from, relative to the labeled ones: only the
    labeled images themselves, more of the same collection, another collection of the same
    modality and sensor, or another modality or sensor."""

    same = "same"
    same_collection = "same-collection"
    related = "related"
    other = "other"


MODEL_TERMS: tuple[str, ...] = (
    "intercept",
    "continued",
    "frozen",
    "log_labeled",
    "labeled_unknown",
    "log_pool",
    "pool_unknown",
    "pool_related",
    "pool_other",
    "domain_gap",
    "fine_grained",
    "early_ssl",
    "frozen_x_gap",
    "labeled_x_gap",
)
"""Names of the model's coefficients, in order. ``log_labeled`` and ``log_pool`` are decades
away from 10^4 labeled and 10^5 pool images; a study that does not report one of them sets its
``_unknown`` indicator instead of sitting at the centre (a user's dataset always has both). The
pool indicators are against a pool of the labeled images' own collection (``same`` and
``same-collection`` differ only in the pool's size, so one more unlabeled image moves the
estimate by one image's worth); ``frozen`` is a linear, k-NN or SVM reading instead of
fine-tuning. The two products with the domain gap let the protocol and the number of labels
act differently near ImageNet's photographs and far from them: a frozen reading or a small
labeled set widens whichever lead the domain gives (transfer's on photographs, self-supervision's
far from them), and many labels narrow it."""


SELF_TRAINING_TERMS: tuple[str, ...] = (
    "intercept",
    "log_labeled",
    "labeled_unknown",
    "frozen",
    "domain_gap",
)
"""Names of the self-training model's coefficients (``tl+st`` against ``tl``), in order, read as
the gain model's terms of the same names. Fewer than the gain model's: a handful of studies
compare self-training with transfer, and the semi-supervised literature varies above all the
number of labels, so the form keeps the label count, the protocol and the domain gap. Chosen
before any self-training comparison was entered."""


def default_pool_relation(unlabeled: int) -> PoolRelation:
    """The relation assumed when nobody says or measures it: more of the labeled images' own
    collection, or only the labeled images themselves when there are no others."""
    return PoolRelation.same if unlabeled == 0 else PoolRelation.same_collection


def pool_without_images(relation: PoolRelation | None, unlabeled: int) -> str | None:
    """Why ``relation`` cannot describe a pool of ``unlabeled`` images (None: it can)."""
    if relation not in (None, PoolRelation.same) and unlabeled == 0:
        return f"{relation.value!r} describes unlabeled images, but the data has none"
    return None


class Kind(StrEnum):
    """What a published comparison pits against what (arm a vs arm b)."""

    ssl_vs_tl = "ssl-vs-tl"
    ssl_vs_supervised_in_domain = "ssl-vs-supervised-in-domain"
    continued_vs_tl = "continued-vs-tl"
    in_domain_ssl_vs_offdomain_ssl = "in-domain-ssl-vs-offdomain-ssl"
    tl_vs_scratch = "tl-vs-scratch"
    ssl_vs_scratch = "ssl-vs-scratch"
    st_vs_tl = "st-vs-tl"
    st_vs_ssl = "st-vs-ssl"


EVALUATION_SPLITS = frozenset({"val", "test"})
"""Split folders whose labels evaluate a model rather than train it."""

SELF_TRAINING_KINDS = frozenset({Kind.st_vs_tl, Kind.st_vs_ssl})
"""Comparisons of self-training (a teacher's pseudo-labels on the unlabeled images, started from
supervised ImageNet weights) with transfer on the labels alone (``st-vs-tl``: the rows the
self-training estimate is fitted on) or with self-supervised pretraining on the same target
(``st-vs-ssl``). ``ssl_method`` names the self-training method; ``ssl_family`` stays empty."""

DIRECT_KINDS = frozenset({Kind.ssl_vs_tl, Kind.continued_vs_tl})
"""Comparisons of a self-supervised arm with supervised ImageNet transfer on the same target:
the rows the gain model is fitted on. The self-supervised pool may be the target's own images,
another collection of the same kind, or another kind altogether (ImageNet without its labels,
for a satellite target): ``pool_relation`` says which."""

Evidence = Literal["V", "V-copy", "V-img", "V-img≈", "V-data"]
"""Only verified numbers enter the data (the dossier's S and NR numbers never do): the paper's
own text, a full-text copy of the paper (an arXiv HTML or PDF conversion kept in a public
repository, found by a phrase of the table and named in ``source``), an image of its table in
the authors' repository (≈: read off a plot), or a results table in the authors' repository."""

SslFamily = Literal["contrastive", "non-contrastive", "clustering", "masked", "pretext", "other"]


class Origin(StrEnum):
    """Where a value the engine decides from came from; the caveats depend on it."""

    measured = "measured"
    given = "given"
    typical = "typical"
    assumed = "assumed"
    unknown = "unknown"


class DemoName(StrEnum):
    digits = "digits"
    shapes = "shapes"


class Style(StrEnum):
    """How far from natural photos the synthetic shapes look: ``flat``, white silhouettes on
    black (far); ``color``, coloured shapes on colour gradients; ``photo``, coloured shapes over
    crops of the two photographs bundled with scikit-learn (near)."""

    flat = "flat"
    color = "color"
    photo = "photo"


DOCUMENT_NAMES = (
    "analyze",
    "demo",
    "backbones",
    "decision",
    "card",
    "knowledge-list",
    "knowledge-show",
    "pilot",
)
"""What ``advisor schema NAME`` accepts, in the order it lists them."""
