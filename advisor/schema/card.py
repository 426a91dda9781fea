"""A dataset described without its images, for ``advisor decide CARD.yaml``."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from advisor.schema.vocabulary import (
    Domain,
    PoolRelation,
    Protocol,
    Task,
    default_pool_relation,
    pool_without_images,
)


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
    protocol: Protocol = Field(
        default=Protocol.fine_tune,
        description="How the network will be used: fine-tuned whole, or frozen under a linear "
        "or k-NN probe.",
    )
    architecture: str | None = Field(
        default=None,
        description="The network you will train, by its timm name (resnet50, "
        "vit_base_patch16_224, ...): what the cost forecast is for. Default: resnet50.",
    )
    pool: PoolRelation | None = Field(
        default=None,
        description="Where the unlabeled images come from: 'same' (only the labeled images), "
        "'same-collection' (more from their source), 'related' (another collection of the same "
        "modality and sensor) or 'other' (another modality or sensor). Default: same-collection, "
        "or same when there are no unlabeled images.",
    )

    @field_validator("pool")
    @classmethod
    def _pool_has_images(
        cls, pool: PoolRelation | None, info: ValidationInfo
    ) -> PoolRelation | None:
        why = pool_without_images(pool, info.data.get("unlabeled_images", 1))
        if why is not None:
            raise ValueError(why)
        return pool

    @property
    def pool_relation(self) -> PoolRelation:
        return self.pool or default_pool_relation(self.unlabeled_images)
