"""The ``demo`` service: write a demo dataset and describe what it holds."""

from __future__ import annotations

from pathlib import Path

from advisor import __version__
from advisor.data.shapes import ShapesWorld
from advisor.output import check_output_path
from advisor.schema.demo import DemoDataset
from advisor.schema.vocabulary import DemoName


def make_demo(
    out: Path,
    dataset: DemoName = DemoName.digits,
    seed: int = 0,
    force: bool = False,
    clean: bool = False,
    world: ShapesWorld | None = None,
    output: Path | None = None,
) -> DemoDataset:
    """Check the destination (and ``output``, where the caller will write the document, which
    must not land in the dataset), write the dataset, describe it."""
    from advisor.data.digits import write_digits
    from advisor.data.shapes import write_shapes
    from advisor.data.writing import prepare_out, write_dataset

    prepare_out(out, force)
    if output is not None:
        check_output_path(output, [out])
    if dataset is DemoName.digits:
        summary = write_dataset(out, lambda d: write_digits(d, seed=seed, clean=clean))
    else:
        summary = write_dataset(out, lambda d: write_shapes(d, world or ShapesWorld(), seed=seed))
    return DemoDataset(
        tool_version=__version__,
        dataset=dataset.value,
        seed=seed,
        out=str(out),
        images=summary.images,
        labeled=summary.labeled,
        unlabeled=summary.unlabeled,
        planted=summary.planted,
    )
