"""What would change the verdict: the same judgement (the engine alone, or the engine blended
with a pilot's measurement) re-run with one feature moved, bisected to the value where the
verdict flips."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from advisor.advice.features import pool_images
from advisor.schema.decision import DecisionFeatures, Flip
from advisor.schema.vocabulary import (
    SELF_TRAINING,
    Origin,
    Paradigm,
    PoolRelation,
    default_pool_relation,
)


def _bisect_int(flips: Callable[[int], bool], good: int, bad: int) -> int:
    """Smallest change between ``good`` (verdict kept) and ``bad`` (verdict flipped)."""
    while abs(bad - good) > 1:
        middle = (good + bad) // 2
        if flips(middle):
            bad = middle
        else:
            good = middle
    return bad


def flips(
    features: DecisionFeatures,
    verdict: Paradigm,
    judge: Callable[[dict[str, Any]], Paradigm],
    explain: Callable[[dict[str, Any]], str] | None = None,
) -> list[Flip]:
    """``explain``: words a flip adds about the features where it lands (why the verdict
    changes there), appended to its text."""
    base = features.model_dump()
    relation_assumed = features.pool_relation_origin is Origin.assumed

    def moved(**changes: Any) -> dict[str, Any]:
        values = {**base, **changes}
        if relation_assumed:  # the default relation follows the pool
            values["pool_relation"] = default_pool_relation(values["unlabeled_images"])
        values["pool_images"] = pool_images(
            values["labeled_images"],
            values["unlabeled_images"],
            PoolRelation(values["pool_relation"]),
        )
        return values

    def verdict_with(**changes: Any) -> Paradigm:
        return judge(moved(**changes))

    def changes(new: Paradigm) -> bool:
        """Across the line between transfer and the rest, or into or out of self-training:
        a move within the self-supervised family is a change of method, not of paradigm."""
        crossed = (new == "tl") != (verdict == "tl")
        return crossed or (new != verdict and SELF_TRAINING in (new, verdict))

    found: list[Flip] = []
    unlabeled = features.unlabeled_images
    if verdict == "tl":
        top = max(unlabeled, 1) * 10_000
        new = verdict_with(unlabeled_images=top)
        if changes(new):
            at = _bisect_int(lambda n: changes(verdict_with(unlabeled_images=n)), unlabeled, top)
            factor = f" ({at / unlabeled:.1f}x today)" if unlabeled else ""
            amount = "any" if at == 1 else f"at least {at:,}"
            found.append(
                Flip(
                    feature="unlabeled_images",
                    value=at,
                    verdict=verdict_with(unlabeled_images=at),
                    text=f"with {amount} unlabeled in-domain images"
                    f"{factor} the verdict would be {verdict_with(unlabeled_images=at)}",
                )
            )
    elif unlabeled > 0 and changes(verdict_with(unlabeled_images=0)):
        at = _bisect_int(lambda n: not changes(verdict_with(unlabeled_images=n)), 0, unlabeled)
        new = verdict_with(unlabeled_images=at - 1)
        found.append(
            Flip(
                feature="unlabeled_images",
                value=at - 1,
                verdict=new,
                text=f"without unlabeled images the verdict would be {new}"
                if at == 1
                else f"with fewer than {at:,} unlabeled images the verdict would be {new}",
            )
        )

    # a wider gap favours self-supervision over transfer, and transfer over self-training,
    # whose gains were smaller far from ImageNet's photographs
    up = verdict in ("tl", SELF_TRAINING)
    target_gap = 1.0 if up else 0.0
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
        edge = math.ceil(bad * 100) / 100 if up else math.floor(bad * 100) / 100
        word = "at least" if up else "at most"
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
    if explain is None:
        return found
    return [
        flip.model_copy(update={"text": flip.text + explain(moved(**{flip.feature: _typed(flip)}))})
        for flip in found
    ]


def _typed(flip: Flip) -> Any:
    """A flip's value as the feature holds it (counts are whole, the labels' grain a flag)."""
    if flip.feature == "fine_grained":
        return bool(flip.value)
    return int(flip.value) if flip.feature.endswith("images") else flip.value
