"""Dataset cards: the schema, unknown keys, and bad cards in one line naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import EXAMPLES, invoke

from advisor.advice.card import load_card
from advisor.errors import InputError


def write_card(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "card.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_card_schema_names_the_required_fields() -> None:
    schema = json.loads(invoke("schema", "card").stdout)
    assert set(schema["required"]) == {
        "name",
        "task",
        "domain",
        "labeled_images",
        "unlabeled_images",
        "classes",
        "image_size",
    }


def test_unknown_card_keys_are_a_warning(tmp_path: Path) -> None:
    text = (EXAMPLES / "pet-photos.yaml").read_text() + "colour_space: sRGB\n"
    res = invoke("decide", write_card(tmp_path, text), "--json")
    assert res.exit_code == 0
    assert "unknown field 'colour_space'" in res.stderr
    json.loads(res.stdout)


BASE = (EXAMPLES / "pet-photos.yaml").read_text()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (BASE.replace("labeled_images: 5000\n", ""), "labeled_images"),
        (BASE.replace("labeled_images: 5000", "labeled_images: many"), "labeled_images"),
        (BASE.replace("labeled_images: 5000", "labeled_images: 50.5"), "labeled_images"),
        (BASE.replace("unlabeled_images: 20000", "unlabeled_images: -3"), "unlabeled_images"),
        (BASE.replace("domain: natural", "domain: underwater"), "domain"),
        (BASE.replace("task: classification", "task: captioning"), "task"),
        (BASE + "grayscale: perhaps\n", "grayscale"),
        ("- just\n- a list\n", "mapping"),
        ("name: [unclosed\n", "YAML"),
    ],
)
def test_bad_cards_are_one_line_naming_the_field(tmp_path: Path, text: str, named: str) -> None:
    res = invoke("decide", write_card(tmp_path, text))
    assert res.exit_code == 2
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("advisor: error: ")
    assert named in lines[0]
    assert res.stdout == ""


def test_missing_card_file(tmp_path: Path) -> None:
    res = invoke("decide", tmp_path / "nope.yaml")
    assert res.exit_code == 2
    with pytest.raises(InputError):
        load_card(tmp_path / "nope.yaml")
