"""What to do next for the chosen paradigm: each step with its citation, or marked as our
convention where the dossier has no finding to cite."""

from __future__ import annotations

from advisor.knowledge.base import KnowledgeBase, Paradigm
from advisor.schema import Cite, DecisionFeatures, RecipeItem


def cite(kb: KnowledgeBase, study: str, where: str) -> Cite:
    entry = kb.studies[study]
    return Cite(study=study, where=where, title=entry.title, year=entry.year)


def _item(kb: KnowledgeBase, step: str, detail: str, *cites: tuple[str, str]) -> RecipeItem:
    return RecipeItem(
        step=step,
        detail=detail,
        cites=[cite(kb, study, where) for study, where in cites],
        convention=not cites,
    )


def _pretraining_steps(features: DecisionFeatures, verdict: Paradigm, kb: KnowledgeBase):
    if verdict == "tl+ssl":
        yield _item(
            kb,
            "checkpoint",
            "Start self-supervised pretraining from the ImageNet weights, not from random ones: "
            "it converged up to 80x faster and improved accuracy on 16 datasets.",
            ("reed2022", "abstract"),
        )
    else:
        yield _item(
            kb,
            "checkpoint",
            "Pretrain from random initialisation on your pool, then fine-tune; keep an "
            "ImageNet-initialised run as the baseline to beat.",
        )
    yield _item(
        kb,
        "method",
        "Use a current joint-embedding method (SimCLR, BYOL or newer); pretext-task and "
        "memory-bank methods trailed supervised ImageNet where current ones matched or beat it.",
        ("taher2021", "self-supervised vs supervised figure"),
        ("noroozi2018", "abstract"),
    )
    yield _item(
        kb,
        "data",
        f"Pretrain on in-domain images only ({features.pool_images:,} available here: the "
        "unlabeled ones plus the labeled ones without labels); pooling other domains into the "
        "set made it worse.",
        ("cole2022", "Table 2"),
    )
    yield _item(
        kb,
        "pool size",
        "Returns flatten past about 500k images: on iNat21, in-domain SimCLR went from 45.1 "
        "(250k) to 47.7 (500k) to 49.3 (1M) linear top-1.",
        ("cole2022", "Table 2"),
    )
    yield _item(
        kb,
        "resolution",
        "Keep the pretraining images at full resolution: 4x downsampling cost SimCLR about 34 "
        "points and supervised training about 6.5.",
        ("cole2022", "image-corruption figure"),
    )
    yield _item(
        kb,
        "epochs",
        "Plan on the order of a hundred or more epochs over the pool for contrastive "
        "pretraining, fewer when starting from ImageNet weights; check a k-NN probe as it runs.",
    )
    if features.medical:
        yield _item(
            kb,
            "medical pairs",
            "Where one patient has several images, use them as positive pairs (MICLe).",
            ("azizi2021", "abstract"),
        )


def build_recipe(
    features: DecisionFeatures, verdict: Paradigm, kb: KnowledgeBase
) -> list[RecipeItem]:
    items: list[RecipeItem] = []
    if verdict == "tl":
        items.append(
            _item(
                kb,
                "checkpoint",
                "Start from a supervised ImageNet-1k checkpoint; among ImageNet models, higher "
                "ImageNet accuracy predicted better fine-tuned transfer (r = 0.96).",
                ("kornblith2019", "abstract"),
            )
        )
    else:
        items.extend(_pretraining_steps(features, verdict, kb))
    items.append(
        _item(
            kb,
            "fine-tune",
            "Fine-tune the whole network on the labels rather than judging by a linear probe: "
            "linear-probe accuracy did not track fine-tuning performance.",
            ("newell2020", "abstract"),
        )
    )
    if features.labeled_images >= 100_000:
        items.append(
            _item(
                kb,
                "schedule",
                "With this many labels, a longer schedule matters more than the starting point: "
                "random initialisation caught up with ImageNet given more iterations.",
                ("he2019", "abstract"),
            )
        )
    items.append(
        _item(
            kb,
            "input size",
            f"Fine-tune near the images' own short side ({features.image_size or 'unknown'} px), "
            "capped by memory; upsampling small images past about 2x adds cost, not detail.",
        )
    )
    if features.grayscale:
        items.append(
            _item(
                kb,
                "grayscale",
                "Colour jitter and colour dropping carry nothing on grayscale images; repeat the "
                "channel three times for an RGB backbone and rely on crops, flips and blur.",
            )
        )
    if features.medical:
        items.append(
            _item(
                kb,
                "augmentation",
                "Check that each augmentation keeps the label: flips can swap laterality, "
                "aggressive crops can cut out a small finding.",
            )
        )
    return items
