"""The engine's estimate for one set of features, with no wording: what the verdict, the flips
and the combination with a pilot are all computed from."""

from __future__ import annotations

from typing import Any

from advisor.advice.rules import directions, fired_rules
from advisor.knowledge.base import KnowledgeBase
from advisor.knowledge.model import GainModel
from advisor.schema.vocabulary import SSL_ARMS, Paradigm


class Assessment:
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
