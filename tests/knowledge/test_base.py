"""The knowledge base: every part there and cross-referenced, only verified numbers, and broken
data refused on load."""

from __future__ import annotations

import csv
import io

import pytest
from pydantic import ValidationError

from advisor.advice.fit import direct_rows
from advisor.knowledge.base import FILES, build_knowledge, load_knowledge, parse_results
from advisor.schema.vocabulary import Domain

KB = load_knowledge()


def _texts():
    from importlib import resources

    files = resources.files("advisor.knowledge")
    return {name: files.joinpath(name).read_text("utf-8") for name in FILES}


def test_every_part_is_there_and_cross_referenced() -> None:
    assert len(KB.studies) >= 10
    assert len(KB.rules) >= 10
    assert set(KB.domains) == set(Domain)
    for rule in KB.rules:
        assert rule.cites and all(c.study in KB.studies for c in rule.cites)
    gain_studies = {row.study for row in direct_rows(KB, KB.sealed)}
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
        ("recipe.yaml", "{study: kornblith2019,", "{study: nobody2099,", "unknown study"),
        # a condition on a feature the engine never sets would be silent for ever
        ("rules.yaml", "{labeled_images: {ge: 100000}}", "{labelled: {ge: 100000}}", "'labelled'"),
        ("recipe.yaml", "{medical: {eq: true}}", "{medicine: {eq: true}}", "'medicine'"),
        ("recipe.yaml", "({image_size} px)", "({image_side} px)", "image_side"),
        # a rule that speaks for a moderator the model does not have
        ("rules.yaml", "{term: continued, sign: 1}", "{term: continuation, sign: 1}", "model term"),
        ("sealed_studies.txt", "\nzhou2022\n", "\nnobody2099\n", "unknown studies"),
    ],
)
def test_dangling_references_are_refused(part: str, old: str, new: str, message: str) -> None:
    texts = _texts()
    assert old in texts[part]
    texts[part] = texts[part].replace(old, new, 1)
    with pytest.raises(ValueError, match=message):
        build_knowledge(texts)


@pytest.mark.parametrize(
    ("column", "bad", "message"),
    [
        ("pool_relation", "elsewhere", "pool_relation"),
        ("protocol", "probe", "protocol"),
        ("label_fraction", "1.5", "label_fraction"),
        ("ssl_family", "magic", "ssl_family"),
        ("continued", "perhaps", "continued"),
    ],
)
def test_moderators_outside_their_vocabulary_are_refused(
    column: str, bad: str, message: str
) -> None:
    header, *rows = _texts()["results.csv"].splitlines()
    row = next(r for r in rows if r.startswith("ma2022-chestxray14-cxr14,"))
    cells = next(csv.reader([row]))
    cells[header.split(",").index(column)] = bad
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    with pytest.raises(ValidationError, match=message):
        parse_results(header + "\n" + out.getvalue())


def test_every_direct_comparison_codes_its_arm_and_protocol() -> None:
    for row in direct_rows(KB):
        assert row.ssl_method and row.ssl_family, row.id
        assert row.protocol in ("fine-tune", "linear", "knn", "svm", "other"), row.id
        assert row.continued is (row.kind == "continued-vs-tl"), row.id
        assert row.source and row.evidence in ("V", "V-copy", "V-img", "V-img≈", "V-data"), row.id


def _edited(row_id: str, **cells: str) -> str:
    header, *rows = _texts()["results.csv"].splitlines()
    values = next(csv.reader([next(r for r in rows if r.startswith(f"{row_id},"))]))
    names = header.split(",")
    for column, value in cells.items():
        values[names.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return header + "\n" + out.getvalue()


def test_an_arm_whose_start_contradicts_its_kind_is_refused() -> None:
    assert parse_results(_edited("ma2022-chestxray14-cxr14"))  # as shipped: loads
    with pytest.raises(ValidationError, match="continued: false"):
        parse_results(_edited("ma2022-chestxray14-cxr14", continued="true"))
    with pytest.raises(ValidationError, match="continued: true"):
        parse_results(_edited("ma2022-chestxray14-in-cxr14", continued="false"))


def test_a_pool_of_only_the_labeled_images_has_their_size() -> None:
    same = dict(pool_relation="same", labeled_images="5000")
    assert parse_results(_edited("ma2022-chestxray14-cxr14", pretraining_images="5000", **same))
    with pytest.raises(ValidationError, match="same-collection"):
        parse_results(_edited("ma2022-chestxray14-cxr14", pretraining_images="9000", **same))


def test_svm_readings_and_full_text_copies_are_known_words() -> None:
    rows = parse_results(_edited("ma2022-chestxray14-cxr14", protocol="svm", evidence="V-copy"))
    assert (rows[0].protocol, rows[0].evidence) == ("svm", "V-copy")


def test_no_row_compares_with_self_supervision_on_imagenet_as_its_own_kind() -> None:
    """Self-supervision on ImageNet without labels is the same question with another pool: such
    rows are ssl-vs-tl, with the pool's relation and size, and enter the fit."""
    imagenet = [r for r in KB.results if r.kind == "ssl-vs-tl" and r.pretraining_images == 1281167]
    assert imagenet and all(r.pool_relation in ("related", "other") for r in imagenet)
