"""The Python API: its public names, its documents against the command line's, silence and
errors on bad input, notebook display, Markdown summaries and the README's example."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EXAMPLES, REPO, invoke

import advisor
import advisor.api
from advisor.services.demo import make_demo

PUBLIC = ["InputError", "analyze", "combine", "decide", "load", "markdown", "report", "run_pilot"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api") / "digits"
    make_demo(root)
    return root


def test_the_public_names_are_the_documented_ones():
    """A change of the public names fails here until the CHANGELOG names them."""
    assert sorted(advisor.__all__) == PUBLIC
    functions = {
        name
        for name, value in vars(advisor.api).items()
        if inspect.isfunction(value)
        and value.__module__ == "advisor.api"
        and not name.startswith("_")
    }
    assert functions == set(PUBLIC) - {"InputError"}
    changelog = (REPO / "CHANGELOG.md").read_text()
    for name in PUBLIC:
        assert f"`advisor.{name}`" in changelog, name
        assert getattr(advisor, name).__doc__, name
    with pytest.raises(AttributeError):
        advisor.not_a_name  # noqa: B018


def test_import_advisor_loads_nothing_heavy():
    code = (
        "import sys, advisor; "
        "print(sorted(m for m in ('torch', 'pydantic', 'rich', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _cli(*args: object) -> str:
    res = invoke(*args, "--json")
    assert res.exit_code == 0, res.stderr
    return res.stdout


def _text(document) -> str:
    """A document as the command line writes it."""
    return document.model_dump_json(indent=2) + "\n"


def test_documents_are_byte_for_byte_the_command_lines(digits: Path):
    bird = EXAMPLES / "bird-species.yaml"
    assert _text(advisor.decide(bird)) == _cli("decide", bird)
    assert _text(advisor.analyze(digits, probes=False)) == _cli("analyze", digits, "--no-probes")
    chest = EXAMPLES / "chest-xray-effusion.yaml"
    budgeted = advisor.decide(str(chest), compute_budget=2, device_profile="v100")
    cli = _cli("decide", chest, "--compute-budget", "2", "--device-profile", "v100")
    assert _text(budgeted) == cli


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda: advisor.analyze(), "path"),
        (lambda: advisor.analyze("no-such-folder", probes=False), None),
        (lambda: advisor.analyze(".", domain="moon"), "domain"),
        (lambda: advisor.decide({"name": "x"}), "card"),
        (lambda: advisor.decide("no-such-card.yaml"), None),
        (lambda: advisor.decide(EXAMPLES / "bird-species.yaml", compute_budget=-1), None),
        (lambda: advisor.run_pilot("no-such-folder", budget="soon"), "budget"),
        (lambda: advisor.report(path="page.html"), "documents"),
        (lambda: advisor.load("no-such-document.json"), None),
    ],
)
def test_bad_input_raises_the_librarys_error_and_prints_nothing(
    call, param, capfd, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(advisor.InputError) as caught:
        call()
    if param is not None:
        assert caught.value.param == param
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert list(tmp_path.iterdir()) == []


def test_a_document_shows_itself_in_a_notebook_as_its_page():
    rec = advisor.decide(EXAMPLES / "chest-xray-effusion.yaml")
    html = rec._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "tl+ssl" in html
    assert "&lt;!DOCTYPE html&gt;" in html or "&lt;!doctype html&gt;" in html.lower()


def test_markdown_summary_and_the_pipeline_gate(digits: Path, tmp_path: Path):
    analysis = tmp_path / "analysis.json"
    assert invoke("analyze", digits, "--no-probes", "-o", analysis, "-q").exit_code == 0
    toss = tmp_path / "toss.json"
    assert invoke("decide", EXAMPLES / "bird-species.yaml", "-o", toss, "-q").exit_code == 0
    res = invoke("report", analysis, toss, "--markdown")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.count("### advisor") == 2
    assert "Problems found:" in res.stdout and "**Verdict: toss-up**" in res.stdout
    assert res.stdout == advisor.markdown(advisor.load(analysis)) + "\n" + advisor.markdown(
        advisor.load(toss)
    )
    gated = invoke(
        "report", analysis, "--markdown", "-o", tmp_path / "s.md", "--fail-on", "problems"
    )
    assert gated.exit_code == 3
    assert gated.stderr.strip().splitlines()[-1].startswith("advisor: analysis.json: ")
    assert (tmp_path / "s.md").read_text().startswith("### advisor analysis")
    assert invoke("report", toss, "--markdown", "--fail-on", "toss-up").exit_code == 3
    assert invoke("report", toss, "--markdown", "--fail-on", "problems").exit_code == 0
    no_page = invoke("report", toss)
    assert no_page.exit_code == 2 and "-o" in no_page.stderr


@pytest.mark.slow
def test_the_readmes_python_example_runs(digits: Path, tmp_path: Path, monkeypatch):
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Python") : text.index("## Develop")]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo-data").symlink_to(digits)
    (tmp_path / "examples").symlink_to(EXAMPLES)
    exec(compile(code, "README.md", "exec"), {})
    page = (tmp_path / "report.html").read_text()
    assert page.count('class="document"') == 3
