"""A dataset described without its images, for ``advisor decide CARD.yaml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from advisor.schema.vocabulary import Domain, Task


class DatasetCard(BaseModel):
    """A dataset described without its images, for ``advisor decide CARD.yaml``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1)
    task: Task
    domain: Domain
    labeled_images: StrictInt = Field(ge=1)
    unlabeled_images: StrictInt = Field(
        ge=0, description="In-domain images without labels available for pretraining."
    )
    classes: StrictInt = Field(ge=2)
    imbalance_ratio: float = Field(default=1.0, ge=1, description="Largest class / smallest.")
    image_size: StrictInt = Field(ge=1, description="Typical short side in pixels.")
    grayscale: StrictBool = False
    fine_grained: StrictBool = False
    source: str = Field(default="imagenet-1k", description="What transfer would start from.")
    domain_gap: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="A measured domain gap (advisor analyze); overrides the domain's typical one.",
    )
    linear_probe_accuracy: float | None = Field(
        default=None, ge=0, le=1, description="Linear-probe accuracy of the pretrained features."
    )
