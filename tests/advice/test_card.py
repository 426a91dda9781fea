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
NO_POOL = BASE.replace("unlabeled_images: 20000", "unlabeled_images: 0")


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
        (BASE + "protocol: finetune\n", "protocol"),
        (BASE + "protocol: 3\n", "protocol"),
        (BASE + "pool: nearby\n", "pool"),
        (NO_POOL + "pool: related\n", "pool"),
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


def test_protocol_and_pool_reach_the_features(tmp_path: Path) -> None:
    from advisor.advice.features import features_from_card

    card, _ = load_card(write_card(tmp_path, BASE + "protocol: knn\npool: other\n"))
    features = features_from_card(card)
    assert (features.protocol, features.protocol_origin) == ("knn", "given")
    assert (features.pool_relation, features.pool_relation_origin) == ("other", "given")
    card, _ = load_card(write_card(tmp_path, BASE))
    features = features_from_card(card)
    assert (features.protocol, features.protocol_origin) == ("fine-tune", "assumed")
    assert features.pool_relation == "same-collection"
    text = BASE.replace("unlabeled_images: 20000", "unlabeled_images: 0")
    card, _ = load_card(write_card(tmp_path, text))
    features = features_from_card(card)
    assert features.pool_relation == "same" and features.pool_images == card.labeled_images


def test_card_schema_lists_the_protocols_and_pool_relations() -> None:
    schema = json.loads(invoke("schema", "card").stdout)
    text = json.dumps(schema)
    for word in ("fine-tune", "linear", "knn", "same-collection", "related", "other"):
        assert f'"{word}"' in text
