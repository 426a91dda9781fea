"""The engine's estimate for one set of features, with no wording: what the verdict, the flips
and the combination with a pilot are all computed from."""

from __future__ import annotations

from typing import Any

from advisor.advice.moderators import moderators
from advisor.advice.rules import fired_rules
from advisor.advice.self_training import SelfTrainingEstimate, estimate
from advisor.knowledge.base import KnowledgeBase
from advisor.knowledge.model import GainModel
from advisor.schema.vocabulary import SELF_TRAINING, SSL_ARMS, TRANSFER, Paradigm

TOSS_UP = 0.6
"""Below this probability for the likelier side the verdict is a toss-up: it names transfer, the
arm that needs no pretraining compute, and says a pilot is what will decide. A convention: 60:40
is the least lean a user should act on without measuring."""


def decision(p_arm: float, arm: Paradigm) -> tuple[Paradigm, bool]:
    """The verdict and whether it is a toss-up, for the probability that ``arm`` beats
    transfer: the one rule the engine, its flips and the blend with a pilot all decide by."""
    toss_up = max(p_arm, 1 - p_arm) < TOSS_UP
    return (arm if p_arm > 0.5 and not toss_up else TRANSFER), toss_up


class Assessment:
    """The engine's estimate for one set of features (no wording, so flips can re-run it).

    Each arm's estimate is against transfer; the verdict weighs the arm likeliest to beat it
    (the self-supervised family's best, or self-training where its evidence is not thin)."""

    def __init__(
        self,
        values: dict[str, Any],
        kb: KnowledgeBase,
        model: GainModel,
        st_model: GainModel | None = None,
    ) -> None:
        self.fired = fired_rules(kb.rules, values)
        self.estimates: dict[Paradigm, tuple[float, float]] = {
            arm: model.predict(moderators(values, arm)) for arm in SSL_ARMS
        }
        self.self_training: SelfTrainingEstimate | None = (
            estimate(values, kb, st_model) if st_model is not None else None
        )
        candidates: list[Paradigm] = list(SSL_ARMS)
        if self.self_training is not None:
            self.estimates[SELF_TRAINING] = (self.self_training.mean, self.self_training.sd)
            if self.self_training.thin is None:
                candidates.append(SELF_TRAINING)
        self.chances: dict[Paradigm, float] = {
            arm: model.probability(*self.estimates[arm]) for arm in candidates
        }
        self.best = max(candidates, key=self.chances.__getitem__)
        self.p_best = self.chances[self.best]
        self.verdict, self.toss_up = decision(self.p_best, self.best)
