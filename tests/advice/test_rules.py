"""The rules: each fires on the rows it cites, and pushes the way it says."""

from __future__ import annotations

from advisor.advice.fit import row_features
from advisor.advice.rules import direction, fires
from advisor.knowledge.base import load_knowledge

KB = load_knowledge()


def test_rules_fire_on_the_rows_they_cite() -> None:
    """Each rule fires on at least one of the result rows it names (the continuation rule reads
    the user's unlabeled count, which a published row does not have)."""
    for rule in KB.rules:
        if not rule.rows or rule.id == "continue-from-pretrained":
            continue
        rows = [row for row in KB.results if row.id in set(rule.rows)]
        assert any(fires(rule, row_features(KB, row)) for row in rows), rule.id


def test_rule_directions() -> None:
    far = KB.rule("far-domain")
    assert direction(far, "ssl") == 1 and direction(far, "tl+ssl") == 1
    many = KB.rule("many-labels")
    assert direction(many, "ssl") == -1
    keep = KB.rule("continue-from-pretrained")
    assert direction(keep, "ssl") == 0 and direction(keep, "tl+ssl") == 0


def test_the_small_images_rule_reads_the_share_below_half_the_input() -> None:
    """It speaks where the median image is 64 px or more (below that the low-resolution rule
    does), and is silent without a measured share (a card)."""
    rule = KB.rule("mostly-small-images")
    assert direction(rule, "ssl") == -1 and direction(rule, "tl+ssl") == -1
    assert [c.study for c in rule.cites] == ["cole2022"]
    assert fires(rule, {"low_resolution_share": 0.8, "image_size": 96})
    assert not fires(rule, {"low_resolution_share": 0.3, "image_size": 96})
    assert not fires(rule, {"low_resolution_share": 1.0, "image_size": 32})
    assert not fires(rule, {"low_resolution_share": None, "image_size": 96})
