"""The engine's estimate for one set of features, with no wording: what the verdict, the flips
and the combination with a pilot are all computed from."""

from __future__ import annotations

from typing import Any

from advisor.advice.moderators import moderators
from advisor.advice.rules import fired_rules
from advisor.knowledge.base import KnowledgeBase
from advisor.knowledge.model import GainModel
from advisor.schema.vocabulary import SSL_ARMS, TRANSFER, Paradigm

TOSS_UP = 0.6
"""Below this probability for the likelier side the verdict is a toss-up: it names transfer, the
arm that needs no pretraining compute, and says a pilot is what will decide. A convention: 60:40
is the least lean a user should act on without measuring."""


class Assessment:
    """The engine's estimate for one set of features (no wording, so flips can re-run it)."""

    def __init__(self, values: dict[str, Any], kb: KnowledgeBase, model: GainModel) -> None:
        self.fired = fired_rules(kb.rules, values)
        self.estimates: dict[Paradigm, tuple[float, float]] = {
            arm: model.predict(moderators(values, arm)) for arm in SSL_ARMS
        }
        self.best = max(SSL_ARMS, key=lambda arm: self.estimates[arm][0] / self.estimates[arm][1])
        self.p_family = model.probability(*self.estimates[self.best])
        self.toss_up = max(self.p_family, 1 - self.p_family) < TOSS_UP
        self.verdict: Paradigm = self.best if self.p_family > 0.5 and not self.toss_up else TRANSFER
