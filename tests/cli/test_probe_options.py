"""The probes through the command line: JSON, the terminal panel, and bad options."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from helpers import invoke, no_nan


def test_cli_probes_json_and_terminal(probe_dataset: Path) -> None:
    result = invoke(
        "analyze", probe_dataset, "--json", "-q", "--resolution", "48", "--sample", "50"
    )
    assert result.exit_code == 0, result.stderr
    document = no_nan(result.stdout)
    assert document["probes"]["domain_gap"]["score"]["value"] is not None
    shown = invoke("analyze", probe_dataset, "--resolution", "48")
    assert shown.exit_code == 0
    for words in ("Probes", "domain gap", "LogME", "linear-probe accuracy", "imagenet at 48 px"):
        assert words in shown.stdout
    assert (
        invoke("analyze", probe_dataset, "--no-probes", "--json").stdout.count('"probes": null')
        == 1
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--backbone", "alexnet-please"], "backbone"),
        (["--sample", "0"], "--sample"),
        (["--device", "tpu"], "--device"),
        (["--resolution", "8"], "--resolution"),
    ],
)
def test_cli_bad_probe_options(probe_dataset: Path, args: list[str], fragment: str) -> None:
    result = invoke("analyze", probe_dataset, *args)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("advisor: error:") and fragment in lines[0]


def test_cli_empty_reference_and_bad_checkpoint(probe_dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke(
        "analyze", probe_dataset, "--reference", tmp_path / "empty", "--resolution", "48"
    )
    assert result.exit_code == 2 and "reference" in result.stderr
    (tmp_path / "junk.pt").write_bytes(b"definitely not a checkpoint")
    result = invoke("analyze", probe_dataset, "--backbone", f"file:{tmp_path / 'junk.pt'}")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1


def test_backbones_command_lists_the_shipped_one() -> None:
    result = invoke("backbones", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    schema = json.loads(invoke("schema", "backbones").stdout)
    jsonschema.Draft202012Validator(schema).validate(document)
    listed = {row["spec"]: row for row in document["backbones"]}
    assert listed["imagenet"]["available"] is True
    assert "imagenet" in invoke("backbones").stdout
