"""The gain model: the shipped one is what a fresh fit gives, on the right rows, without the
held-out study."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import invoke, one_error_line

from advisor.advice.fit import fit_gain_model, usable_rules
from advisor.knowledge.base import load_knowledge
from advisor.knowledge.model import load_model
from advisor.schema.vocabulary import SSL_FAMILY_VS_SUPERVISED

KB = load_knowledge()


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


def test_a_store_record_of_another_version_is_one_line(experience_store: Path) -> None:
    experience_store.parent.mkdir(parents=True)
    experience_store.write_text('{"time": "then", "features": {}}\n')
    res = invoke("knowledge", "fit", "--with-experience")
    assert res.exit_code == 2
    assert "line 1: not a pilot record of this version" in one_error_line(res.stderr)
