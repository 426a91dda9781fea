"""Write the JSON output of every command on the demo datasets into a folder, minus timings.

For refactors that must not change behaviour: run it before and after, then compare the two
folders (``diff -r``). Every call goes through the installed ``advisor`` command, so the script
does not depend on how the package is laid out inside. Timings (``seconds`` fields) and the
absolute paths of the temporary folders are blanked; everything else is kept as written.

    python scripts/snapshot_outputs.py before/   # on the old code
    python scripts/snapshot_outputs.py after/    # on the new code
    python scripts/snapshot_outputs.py --compare before/ after/ [--ignore-key NAME ...]

``--compare`` says, document by document, whether the two are identical, identical once the
keys named with ``--ignore-key`` are left out (fields a change added on purpose), or different;
it exits 1 when any differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMINGS = {"seconds"}
PILOT = [
    "--budget",
    "60steps",
    "--seeds",
    "2",
    "--resolution",
    "32",
    "--no-store",
    "--device",
    "cpu",
]


def _advisor(*args: str | Path) -> str:
    done = subprocess.run(
        ["advisor", *[str(a) for a in args]], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"advisor {' '.join(map(str, args))} failed: {done.stderr.strip()}")
    return done.stdout


def _scrub(value: Any, root: str) -> Any:
    if isinstance(value, dict):
        return {k: None if k in TIMINGS else _scrub(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, root) for v in value]
    if isinstance(value, str):
        return value.replace(root, "<tmp>")
    return value


def _without(value: Any, keys: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


def compare(before: Path, after: Path, ignored: set[str]) -> bool:
    names = sorted({p.name for p in before.glob("*.json")} | {p.name for p in after.glob("*.json")})
    same = True
    for name in names:
        if not (before / name).is_file() or not (after / name).is_file():
            print(f"{name}: only in one folder")
            same = False
            continue
        old = json.loads((before / name).read_text())
        new = json.loads((after / name).read_text())
        if old == new:
            verdict = "identical"
        elif _without(old, ignored) == _without(new, ignored):
            verdict = f"identical without {', '.join(sorted(ignored))}"
        else:
            verdict, same = "DIFFERENT", False
        print(f"{name}: {verdict}")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out", type=Path, nargs="+", help="Folder to write into (or two to compare)."
    )
    parser.add_argument("--compare", action="store_true", help="Compare two snapshot folders.")
    parser.add_argument("--ignore-key", action="append", default=[], help="With --compare.")
    args = parser.parse_args()
    if args.compare:
        if len(args.out) != 2:
            parser.error("--compare takes two folders")
        sys.exit(0 if compare(*args.out, set(args.ignore_key)) else 1)
    if len(args.out) != 1:
        parser.error("give one folder to write into")
    write(args.out[0])


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="advisor-snapshot-") as tmp:
        root = Path(tmp)
        digits, shapes = root / "digits", root / "shapes"
        runs: dict[str, list[str | Path]] = {
            "demo-digits": ["demo", "--out", digits, "--json"],
            "demo-shapes": [
                "demo",
                "--out",
                shapes,
                "--dataset",
                "shapes",
                "--style",
                "photo",
                "--images",
                "600",
                "--json",
            ],
            "analyze-digits": ["analyze", digits, "--json", "-q", "--no-cache", "--device", "cpu"],
            "analyze-shapes": ["analyze", shapes, "--json", "-q", "--no-cache", "--device", "cpu"],
            "analyze-digits-quick": ["analyze", digits, "--json", "-q", "--quick", "--no-probes"],
            "pilot-shapes": ["pilot", shapes, *PILOT, "--out", root / "pilot", "--json", "-q"],
            "analyze-shapes-with-pilot": [
                "analyze",
                shapes,
                "--json",
                "-q",
                "--no-probes",
                "--pilot",
                root / "pilot" / "result.json",
            ],
            "knowledge-list": ["knowledge", "list", "--json"],
            "knowledge-show-rule": ["knowledge", "show", "far-domain", "--json"],
            "knowledge-fit": ["knowledge", "fit"],
            "backbones": ["backbones", "--json"],
        }
        runs |= {
            f"decide-{card.stem}": ["decide", card, "--json"]
            for card in sorted(EXAMPLES.glob("*.yaml"))
        }
        documents = [line.split("\t")[0] for line in _advisor("schema").splitlines()]
        runs |= {f"schema-{name}": ["schema", name] for name in documents}
        for name, command in runs.items():
            print(f"advisor {' '.join(map(str, command))}", file=sys.stderr)
            document = _scrub(json.loads(_advisor(*command)), tmp)
            (out / f"{name}.json").write_text(json.dumps(document, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
