"""The ``decide`` service: advice from a dataset card, without the images."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from advisor.output import check_output_path
from advisor.progress import SILENT, Progress
from advisor.schema.card import DatasetCard
from advisor.schema.decision import Recommendation

if TYPE_CHECKING:
    from advisor.advice.settings import ComputeSettings


def decide(
    card: Path | DatasetCard,
    output: Path | None = None,
    progress: Progress = SILENT,
    compute: ComputeSettings | None = None,
) -> Recommendation:
    """Read and check the card (a field it does not know is a warning, not an error), or take
    one already made, and recommend; ``output``, where the caller will write the result, is
    checked first. With no images to time, the cost forecast is for a reference device."""
    from advisor.advice.card import load_card
    from advisor.advice.decide import recommend
    from advisor.advice.features import features_from_card

    if output is not None:
        check_output_path(output, [])
    if isinstance(card, DatasetCard):
        dataset_card = card
    else:
        dataset_card, unknown = load_card(card)
        for key in unknown:
            progress.warn(f"{card}: unknown field {key!r} ignored")
    return recommend(
        features_from_card(dataset_card),
        dataset_card.name,
        compute=compute,
        architecture=dataset_card.architecture,
    )
