"""The profile of a dataset: what it is, measured without any neural network."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from advisor.schema.base import Model


class ProblemKind(StrEnum):
    unreadable = "unreadable"
    oversized = "oversized"
    duplicate = "duplicate"
    near_duplicate = "near_duplicate"
    conflicting_labels = "conflicting_labels"
    split_leak = "split_leak"
    low_information = "low_information"
    dark = "dark"
    bright = "bright"
    blurry = "blurry"


class Problem(Model):
    """Something in the data that will hurt training or evaluation, and which files it concerns."""

    kind: ProblemKind
    paths: list[str] = Field(min_length=1)
    detail: str = Field(description="One line: what is wrong, why it matters, what to do.")


class NoticeKind(StrEnum):
    hidden_files = "hidden_files"
    non_image_files = "non_image_files"
    linked_folders = "linked_folders"
    high_bit_depth = "high_bit_depth"
    cmyk = "cmyk"
    transparency = "transparency"
    animated = "animated"
    grayscale_as_rgb = "grayscale_as_rgb"
    unevaluated_classes = "unevaluated_classes"
    unjudged_pairs = "unjudged_pairs"


class Notice(Model):
    """Something worth knowing that is not an error: files skipped, modes that get converted, a
    search that stopped within its budget."""

    kind: NoticeKind
    count: int = Field(
        ge=1,
        description="How many files the notice is about (``paths`` lists them), or for "
        "``unjudged_pairs`` how many candidate pairs of images were left (no paths).",
    )
    paths: list[str]
    detail: str


class Imbalance(Model):
    """How unevenly the labeled training images spread over the classes."""

    basis: str = Field(
        description="Which images were counted: the labeled images outside val/test when there "
        "are any (what a model trains on), else all labeled images."
    )
    class_counts: dict[str, int]
    max_min_ratio: float = Field(ge=1, description="Largest class count / smallest.")
    normalized_entropy: float | None = Field(
        ge=0, le=1, description="Entropy of the class distribution / log(classes); 1 = balanced."
    )
    gini: float = Field(
        ge=0, le=1, description="Gini coefficient of the class counts; 0 = balanced."
    )
    effective_samples: float = Field(
        ge=0, description="Sum over classes of (1 - beta^n) / (1 - beta), Cui et al. 2019."
    )
    effective_samples_beta: float = Field(gt=0, lt=1)
    effective_samples_per_class: dict[str, float]
    missing_classes: list[str] = Field(
        description="Classes with labeled images only in val/test: nothing to train them on."
    )
    reading: str = Field(description="The figures in plain words.")


class Spread(Model):
    """Summary of a numeric distribution."""

    min: float
    median: float
    max: float
    mean: float


class SizeCount(Model):
    width: int
    height: int
    count: int


class SizeBin(Model):
    """Images whose short side is at least ``low`` and below ``high`` pixels."""

    low: int = Field(ge=0)
    high: int = Field(gt=0)
    count: int = Field(ge=0)


class ImageSizes(Model):
    width: Spread
    height: Spread
    short_side: Spread
    most_common: list[SizeCount]
    short_side_histogram: list[SizeBin] = Field(
        default_factory=list,
        description="Short sides in bins that double in width (..., 32-64, 64-128, ...), from "
        "the smallest non-empty bin to the largest; empty in documents of earlier versions.",
    )


class SplitCounts(Model):
    images: int = Field(ge=0)
    labeled: int = Field(ge=0)
    unlabeled: int = Field(ge=0)
    class_counts: dict[str, int]


class QualityReading(Model):
    """One per-image quality measure over the decoded images, taken on a grayscale working image
    of ``Quality.working_side`` pixels a side."""

    images: int = Field(ge=0, description="Images measured.")
    spread: Spread
    lowest: list[str] = Field(description="The files with the lowest values, lowest first.")
    highest: list[str] = Field(description="The files with the highest values, highest first.")
    reading: str = Field(description="The figures in plain words.")


class Resolution(Model):
    """How many images are smaller than what the networks are fed, which low-resolution
    pretraining data makes self-supervision pay for (cole2022, image-corruption figure)."""

    pipeline_side: int = Field(
        description="Input side of the backbones the probes and the pilot use on a GPU (px)."
    )
    below_pipeline: float = Field(
        ge=0, le=1, description="Share of images whose short side is below pipeline_side."
    )
    below_half: float = Field(
        ge=0, le=1, description="Share below half of it: upsampled 2x or more."
    )
    below_quarter: float = Field(
        ge=0, le=1, description="Share below a quarter of it: upsampled 4x or more."
    )
    smallest: list[str] = Field(description="The files with the shortest short sides.")
    reading: str


class Quality(Model):
    """Image quality that bears on self-supervised pretraining, each measure with its spread,
    its extremes and a plain reading; images that are clear outliers of the dataset are also
    problems (blurry, low_information, dark, bright)."""

    working_side: int = Field(description="Side of the grayscale image each measure is taken on.")
    sharpness: QualityReading | None = Field(
        description="Variance of the Laplacian; lower is blurrier. None without decoding."
    )
    noise: QualityReading | None = Field(
        description="Immerkaer's noise sigma (median form), grey levels of 255. None without "
        "decoding."
    )
    brightness: QualityReading | None = Field(
        description="Mean grey level, 0-255. None without decoding."
    )
    contrast: QualityReading | None = Field(
        description="Standard deviation of the grey levels; near 0 is a uniform image. None "
        "without decoding."
    )
    jpeg_quality: QualityReading | None = Field(
        description="IJG quality (1-100) estimated from the JPEG files' quantisation tables; "
        "None without JPEG files or without decoding."
    )
    resolution: Resolution


class FileCounts(Model):
    """Every file the scan met, by what became of it; the five parts add up to ``seen``."""

    seen: int = Field(ge=0)
    images: int = Field(ge=0, description="Readable images, the ones every other figure counts.")
    unreadable: int = Field(ge=0)
    oversized: int = Field(ge=0)
    non_image: int = Field(ge=0)
    hidden: int = Field(ge=0)


class Profile(Model):
    """What the dataset is, measured without any neural network."""

    sources: list[str] = Field(description="The folders and manifest the images came from.")
    decoded: bool = Field(
        description="Every image was fully decoded, which finds truncated files and near "
        "duplicates; false for a quick profile (headers, format checksums, exact duplicates)."
    )
    files: FileCounts
    labeled: int = Field(ge=0)
    unlabeled: int = Field(ge=0)
    splits: dict[str, SplitCounts] = Field(
        description="Per split folder or manifest split; 'unsplit' for images in none."
    )
    classes: list[str]
    class_counts: dict[str, int]
    imbalance: Imbalance | None = Field(description="None without labeled images.")
    sizes: ImageSizes
    modes: dict[str, int]
    formats: dict[str, int]
    bytes: int = Field(ge=0, description="Total size of the readable images on disk.")
    problems: list[Problem]
    notices: list[Notice]
    quality: Quality | None = Field(
        default=None, description="None in documents written before quality was measured."
    )
