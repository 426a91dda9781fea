"""advisor knowledge list, show and fit."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from helpers import invoke

from advisor.knowledge.base import load_knowledge

KB = load_knowledge()


def test_knowledge_list_and_show(tmp_path: Path) -> None:
    res = invoke("knowledge", "list", "--json")
    assert res.exit_code == 0
    listing = json.loads(res.stdout)
    assert {rule["id"] for rule in listing["rules"]} == {rule.id for rule in KB.rules}
    schema = json.loads(invoke("schema", "knowledge-list").stdout)
    jsonschema.Draft202012Validator(schema).validate(listing)
    shown = json.loads(invoke("knowledge", "show", "far-domain", "--json").stdout)
    assert shown["kind"] == "rule"
    assert {row["id"] for row in shown["rows"]} == set(KB.rule("far-domain").rows)
    study = json.loads(invoke("knowledge", "show", "taher2021", "--json").stdout)
    assert study["kind"] == "study"
    assert len(study["rows"]) == sum(row.study == "taher2021" for row in KB.results) > 10
    assert invoke("knowledge", "show", "azizi-derm").exit_code == 0
    assert "many-labels" in invoke("knowledge", "list").stdout
    res = invoke("knowledge", "show", "nothing-here")
    assert res.exit_code == 2 and "nothing-here" in res.stderr


def test_knowledge_fit_rebuilds_the_shipped_model(tmp_path: Path) -> None:
    from importlib import resources

    out = tmp_path / "model.json"
    res = invoke("knowledge", "fit", "-o", out)
    assert res.exit_code == 0, res.stderr
    shipped = resources.files("advisor.knowledge").joinpath("model.json").read_text("utf-8")
    assert _same_up_to_rounding(json.loads(out.read_text()), json.loads(shipped))


def _same_up_to_rounding(a, b) -> bool:
    """Equal, with floats allowed to differ in their last bits: BLAS kernels differ between
    CPUs, and the fit's last digit with them."""
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-15)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_up_to_rounding(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same_up_to_rounding, a, b))
    return a == b
