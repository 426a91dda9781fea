"""The knowledge base loads, holds only verified numbers, and its model rebuilds exactly."""

from __future__ import annotations

import json

import pytest
import yaml
from advisor.knowledge.base import (
    SSL_FAMILY_VS_SUPERVISED,
    Domain,
    build_knowledge,
    load_knowledge,
    parse_results,
)
from advisor.knowledge.model import load_model
from pydantic import ValidationError

from advisor.fit import fit_gain_model, gain_rows, row_features, usable_rules
from advisor.rules import direction, fires

KB = load_knowledge()


def _texts():
    from importlib import resources

    files = resources.files("advisor.knowledge")
    return {
        name: files.joinpath(name).read_text("utf-8")
        for name in ("studies.yaml", "results.csv", "rules.yaml", "domains.yaml")
    }


def test_every_part_is_there_and_cross_referenced() -> None:
    assert len(KB.studies) >= 10
    assert len(KB.rules) >= 10
    assert set(KB.domains) == set(Domain)
    for rule in KB.rules:
        assert rule.cites and all(c.study in KB.studies for c in rule.cites)
    gain_studies = {row.study for row in gain_rows(KB)}
    assert len(gain_studies) >= 5  # the leave-one-study-out evaluation needs several


def test_only_verified_numbers_enter_the_results() -> None:
    text = _texts()["results.csv"]
    header, first = text.splitlines()[:2]
    assert ",V-img," in first
    with pytest.raises(ValidationError):
        parse_results(header + "\n" + first.replace(",V-img,", ",S,"))


def test_a_gap_that_is_not_the_difference_is_refused() -> None:
    header, first = _texts()["results.csv"].splitlines()[:2]
    assert ",-29.8," in first
    with pytest.raises(ValidationError, match="gap"):
        parse_results(header + "\n" + first.replace(",-29.8,", ",-20.0,"))


def test_missing_values_stay_missing() -> None:
    azizi = next(row for row in KB.results if row.id == "azizi-derm")
    assert azizi.value_a is None and azizi.value_b is None and azizi.labeled_images is None
    assert azizi.gap == 6.7


@pytest.mark.parametrize(
    ("part", "old", "new", "message"),
    [
        ("rules.yaml", "{study: taher2021,", "{study: nobody2099,", "unknown study"),
        ("rules.yaml", "rows: [taher-tl-txc,", "rows: [no-such-row,", "unknown results"),
        ("domains.yaml", "- id: industrial", "- id: natural", "every domain"),
    ],
)
def test_dangling_references_are_refused(part: str, old: str, new: str, message: str) -> None:
    texts = _texts()
    assert old in texts[part]
    texts[part] = texts[part].replace(old, new, 1)
    with pytest.raises(ValueError, match=message):
        build_knowledge(
            yaml.safe_load(texts["studies.yaml"]),
            parse_results(texts["results.csv"]),
            yaml.safe_load(texts["rules.yaml"]),
            yaml.safe_load(texts["domains.yaml"]),
        )


def test_shipped_model_is_what_a_fresh_fit_gives() -> None:
    fresh = json.loads(fit_gain_model(KB).model_dump_json())
    shipped = json.loads(load_model().model_dump_json())
    assert fresh.keys() == shipped.keys()
    assert fresh["fit_rows"] == shipped["fit_rows"]
    assert fresh["rules"] == shipped["rules"]
    for key in ("scale", "scale_variance", "noise_variance", "probability_scale"):
        assert fresh[key] == pytest.approx(shipped[key], rel=1e-9), key


def test_fit_uses_only_image_comparisons_of_the_ssl_family() -> None:
    model = load_model()
    rows = {row.id: row for row in KB.results}
    assert all(rows[r].kind in SSL_FAMILY_VS_SUPERVISED for r in model.fit_rows)
    assert all(rows[r].modality == "image" for r in model.fit_rows)
    assert not any(r.startswith("gururangan") for r in model.fit_rows)
    assert model.scale > 0  # the rules' direction agrees with the evidence overall


def test_holding_out_a_study_removes_its_rows_and_the_rules_only_it_backs() -> None:
    model = fit_gain_model(KB, ["cole2022"])
    assert not any(r.startswith("cole") for r in model.fit_rows)
    unusable = {rule.id for rule in KB.rules} - {rule.id for rule in usable_rules(KB, ["cole2022"])}
    assert "fine-grained" in unusable  # written from Cole et al. alone
    assert "many-labels" not in unusable  # also backed by Zoph et al. and He et al.
    held = dict(zip(model.rules, model.strength, strict=True))
    assert held["fine-grained"] == 0


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
