"""Name given to ``advisor schema`` -> the model of the document."""

from __future__ import annotations

from pydantic import BaseModel

from advisor.schema.analysis import Analysis
from advisor.schema.backbones import BackboneList
from advisor.schema.card import DatasetCard
from advisor.schema.decision import Recommendation
from advisor.schema.demo import DemoDataset
from advisor.schema.knowledge import KnowledgeItem, KnowledgeListing
from advisor.schema.pilot import PilotResult
from advisor.schema.vocabulary import DOCUMENT_NAMES

DOCUMENTS: dict[str, type[BaseModel]] = dict(
    zip(
        DOCUMENT_NAMES,
        (
            Analysis,
            DemoDataset,
            BackboneList,
            Recommendation,
            DatasetCard,
            KnowledgeListing,
            KnowledgeItem,
            PilotResult,
        ),
        strict=True,
    )
)
