"""Turn a scan (the files and what was read from each) into the dataset profile."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from enum import Enum

import numpy as np

from advisor.data.detail import DETAIL_SIDE, Originals
from advisor.data.duplicates import MAX_PARTNERS, groups_of, near_duplicate_groups
from advisor.data.images import (
    HIGH_BIT_DEPTH_MODES,
    THUMB_SIDE,
    ImageFacts,
    image_extensions,
    open_gray,
    thumb_shape,
)
from advisor.data.imbalance import imbalance
from advisor.data.quality_profile import quality_of, spread
from advisor.data.resolution import FINE_SHARE
from advisor.data.scan import Discovery, Entry
from advisor.errors import InputError
from advisor.progress import SILENT, Progress
from advisor.schema.profile import (
    FileCounts,
    ImageSizes,
    Imbalance,
    Notice,
    NoticeKind,
    Problem,
    ProblemKind,
    Profile,
    SizeBin,
    SizeCount,
    SplitCounts,
)
from advisor.schema.vocabulary import EVALUATION_SPLITS

SPLIT_ORDER = ("train", "val", "test", "unsplit")
EVALUATION_ORDER = ("test", "val")
"""The split a model is scored on: test, or val when no test image has a label. The pilot too
scores every arm on the dataset's own test or val images (``advisor/pilot/data.py``)."""
NAMED_CLASSES = 5
"""Classes a notice names before it gives the rest as a count."""
KIND_ORDER = {kind: i for i, kind in enumerate(ProblemKind)}


class Status(Enum):
    image = "image"
    oversized = "oversized"
    unreadable = "unreadable"
    non_image = "non_image"


def status_of(entry: Entry, facts: ImageFacts) -> Status:
    """What a file is for the profile. A file that is not a readable image is a problem when it
    claims to be one (an image header, an image extension, or a file that could not be read at
    all) and merely something else otherwise."""
    if facts.usable:
        return Status.image
    if facts.oversized:
        return Status.oversized
    claims_image = facts.is_image or not facts.digest or _suffix(entry.path) in image_extensions()
    return Status.unreadable if claims_image else Status.non_image


def build_profile(
    found: Discovery,
    facts: Sequence[ImageFacts],
    decoded: bool = True,
    progress: Progress = SILENT,
) -> Profile:
    """The profile of a scanned dataset; raises InputError when no file is a readable image.
    ``progress`` hears of the near-duplicate search, the one part that can take seconds."""
    statuses = [status_of(e, f) for e, f in zip(found.entries, facts, strict=True)]
    usable = [i for i, s in enumerate(statuses) if s is Status.image]
    if not usable:
        raise InputError(
            f"no readable images in {', '.join(found.roots)} "
            f"({len(found.entries)} file(s) looked at, none decoded as an image)"
        )
    by_status = Counter(statuses)
    images = [found.entries[i] for i in usable]
    kept = [facts[i] for i in usable]
    class_counts = Counter(e.label for e in images if e.label is not None)
    classes = sorted(class_counts)
    labeled = sum(class_counts.values())

    problems = _file_problems(found, statuses, facts)
    duplicates, unjudged = _duplicate_problems(found.entries, facts, statuses, progress)
    problems += duplicates
    quality, quality_problems = quality_of([e.path for e in images], kept)
    problems += quality_problems
    problems.sort(key=lambda p: (KIND_ORDER[p.kind], p.paths[0]))
    return Profile(
        sources=found.roots,
        decoded=decoded,
        files=FileCounts(
            seen=len(found.entries) + len(found.hidden) + len(found.special),
            images=len(usable),
            unreadable=by_status[Status.unreadable],
            oversized=by_status[Status.oversized],
            non_image=by_status[Status.non_image] + len(found.special),
            hidden=len(found.hidden),
        ),
        labeled=labeled,
        unlabeled=len(images) - labeled,
        splits=_splits(images),
        classes=classes,
        class_counts={c: class_counts[c] for c in classes},
        imbalance=_training_imbalance(images),
        sizes=_sizes(kept),
        modes=dict(Counter(f.mode for f in kept).most_common()),
        formats=dict(Counter(f.format or "unknown" for f in kept).most_common()),
        bytes=sum(f.size for f in kept),
        problems=problems,
        notices=_notices(found, statuses, facts)
        + _unevaluated_classes(images)
        + _unjudged(unjudged),
        quality=quality,
    )


def _training_imbalance(images: Sequence[Entry]) -> Imbalance | None:
    labeled = [e for e in images if e.label is not None]
    training = [e for e in labeled if e.split not in EVALUATION_SPLITS]
    basis = "labeled images outside val/test" if training else "all labeled images"
    counts = Counter(e.label for e in (training or labeled))
    missing = sorted({e.label for e in labeled if e.label not in counts})
    return imbalance({c: counts[c] for c in sorted(counts)}, basis, missing)


def _suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _file_problems(
    found: Discovery, statuses: Sequence[Status], facts: Sequence[ImageFacts]
) -> list[Problem]:
    problems = []
    for entry, status, f in zip(found.entries, statuses, facts, strict=True):
        if status is Status.oversized:
            detail = f"{f.error}: data loaders warn about it or refuse it; downscale it or drop it"
            problems.append(Problem(kind=ProblemKind.oversized, paths=[entry.path], detail=detail))
        elif status is Status.unreadable:
            detail = f"{f.error}: training would crash on it or skip it; repair or remove it"
            problems.append(Problem(kind=ProblemKind.unreadable, paths=[entry.path], detail=detail))
    for folder, reason in found.unlistable:
        detail = f"cannot list this folder ({reason}); nothing inside it was counted"
        problems.append(Problem(kind=ProblemKind.unreadable, paths=[folder], detail=detail))
    for path, first, second in found.relabeled:
        detail = (
            f"listed twice, as '{first}' and as '{second}'; a model cannot learn both: keep one"
        )
        problems.append(Problem(kind=ProblemKind.conflicting_labels, paths=[path], detail=detail))
    return problems


def _role(entry: Entry) -> str:
    return entry.split or "unsplit"


def _duplicate_problems(
    entries: Sequence[Entry],
    facts: Sequence[ImageFacts],
    statuses: Sequence[Status],
    progress: Progress = SILENT,
) -> tuple[list[Problem], int]:
    """The exact and near-duplicate problems, and how many near-duplicate candidate pairs the
    search's budget left unjudged."""
    problems: list[Problem] = []
    candidates = [i for i, s in enumerate(statuses) if s in (Status.image, Status.oversized)]
    for group in groups_of([facts[i].digest for i in candidates]):
        members = [entries[candidates[g]] for g in group]
        paths = [m.path for m in members]
        problems.append(
            Problem(
                kind=ProblemKind.duplicate,
                paths=paths,
                detail=(
                    f"{len(paths)} identical files: the image counts {len(paths)}x in "
                    "self-supervised pretraining and in the loss; keep one copy"
                ),
            )
        )
        problems += _conflicts(members, "the same image")
        problems += _leak(members, "identical")

    usable = [i for i, f in enumerate(facts) if f.thumb is not None]
    if len(usable) < 2:  # a quick profile decodes nothing: no thumbnails to compare
        return problems, 0
    thumbs = [
        np.frombuffer(facts[i].thumb or b"", dtype=np.uint8).reshape(
            thumb_shape(facts[i].width, facts[i].height)
        )
        for i in usable
    ]
    sizes = [(facts[i].height, facts[i].width) for i in usable]
    reduced = [max(size) >= 2 * THUMB_SIDE for size in sizes]
    held = [facts[i].fine is not None and facts[i].fine <= FINE_SHARE for i in usable]
    originals = Originals(sizes, lambda k: _detail_image(entries[usable[k]].path), held)
    found = near_duplicate_groups(thumbs, reduced, originals, progress)
    for group in found.groups:
        if len({facts[usable[g]].digest for g in group}) < 2:
            continue  # byte-identical: already reported as a duplicate
        members = [entries[usable[g]] for g in group]
        paths = [m.path for m in members]
        problems.append(
            Problem(
                kind=ProblemKind.near_duplicate,
                paths=paths,
                detail=(
                    f"{len(paths)} images look the same (re-encoded, resized or lightly edited "
                    "copies): they over-weight one picture in pretraining; keep one"
                ),
            )
        )
        problems += _conflicts(members, "images that look the same")
        problems += _leak(members, "near-identical")
    return problems, found.unjudged


def _unjudged(pairs: int) -> list[Notice]:
    """A notice when the near-duplicate search ran out of its budget (``ALLOWANCE``) with
    candidate pairs left: copies among them may be unreported."""
    if not pairs:
        return []
    detail = (
        "candidate near-duplicate pairs left unjudged: these images have more look-alikes than "
        "the search judges in its bounded time (about a millisecond an image, at most "
        f"{MAX_PARTNERS} nearest partners each); copies among them may be unreported"
    )
    return [Notice(kind=NoticeKind.unjudged_pairs, count=pairs, paths=[], detail=detail)]


def _detail_image(path: str) -> np.ndarray | None:
    """An image at the near-duplicate detail stage's size, or None if it no longer decodes
    (changed since it was read: the pair is then not confirmed)."""
    try:
        return open_gray(path, DETAIL_SIDE)
    except Exception:
        return None


def _conflicts(members: Sequence[Entry], what: str) -> list[Problem]:
    labels = sorted({m.label for m in members if m.label is not None})
    if len(labels) < 2:
        return []
    detail = (
        f"{what} labeled {', '.join(repr(x) for x in labels)}: a model cannot get both right; "
        "fix the label or drop the copies"
    )
    labeled = [m.path for m in members if m.label is not None]
    return [Problem(kind=ProblemKind.conflicting_labels, paths=labeled, detail=detail)]


def _leak(members: Sequence[Entry], how: str) -> list[Problem]:
    roles = {_role(m) for m in members}
    evaluation = sorted(roles & EVALUATION_SPLITS)
    if not evaluation or len(roles) < 2:
        return []
    in_pool = any(m.label is None and _role(m) not in EVALUATION_SPLITS for m in members)
    where = ", ".join(sorted(roles))
    consequence = (
        "self-supervised pretraining would see evaluation images"
        if in_pool
        else f"{evaluation[0]} scores would overstate accuracy"
    )
    return [
        Problem(
            kind=ProblemKind.split_leak,
            paths=[m.path for m in members],
            detail=f"{how} image in {where}: {consequence}; keep it in one split only",
        )
    ]


def _splits(images: Sequence[Entry]) -> dict[str, SplitCounts]:
    per_split: dict[str, Counter[str | None]] = defaultdict(Counter)
    for entry in images:
        per_split[_role(entry)][entry.label] += 1
    result = {}
    for split in SPLIT_ORDER:
        counts = per_split.get(split)
        if counts is None:
            continue
        unlabeled = counts.pop(None, 0)
        result[split] = SplitCounts(
            images=unlabeled + sum(counts.values()),
            labeled=sum(counts.values()),
            unlabeled=unlabeled,
            class_counts={c: counts[c] for c in sorted(counts)},
        )
    return result


def _sizes(kept: Sequence[ImageFacts]) -> ImageSizes:
    widths = np.array([f.width for f in kept])
    heights = np.array([f.height for f in kept])
    common = Counter(zip(widths.tolist(), heights.tolist(), strict=True)).most_common(5)
    short = np.minimum(widths, heights)
    return ImageSizes(
        width=spread(widths),
        height=spread(heights),
        short_side=spread(short),
        most_common=[SizeCount(width=w, height=h, count=n) for (w, h), n in common],
        short_side_histogram=_octaves(short),
    )


def _octaves(short: np.ndarray) -> list[SizeBin]:
    """Short sides counted in bins that double in width: resolutions differ by factors (a
    network downsamples by two per stage), so a 28 px and a 56 px image are as far apart as a
    256 px and a 512 px one."""
    exponents = np.floor(np.log2(np.maximum(short, 1))).astype(int)
    counts = np.bincount(exponents - exponents.min())
    low = int(exponents.min())
    return [
        SizeBin(low=2 ** (low + i), high=2 ** (low + i + 1), count=int(n))
        for i, n in enumerate(counts)
    ]


def _notices(
    found: Discovery, statuses: Sequence[Status], facts: Sequence[ImageFacts]
) -> list[Notice]:
    entries = found.entries
    usable = [(e, f) for e, s, f in zip(entries, statuses, facts, strict=True) if s is Status.image]
    others = [e.path for e, s in zip(entries, statuses, strict=True) if s is Status.non_image]
    candidates = [
        (
            NoticeKind.hidden_files,
            found.hidden,
            "hidden files and folders (names starting with '.') were skipped",
        ),
        (
            NoticeKind.non_image_files,
            others + found.special,
            "files that are not images were skipped",
        ),
        (
            NoticeKind.linked_folders,
            found.revisited_dirs,
            "folders reached a second time through symbolic links were scanned once",
        ),
        (
            NoticeKind.high_bit_depth,
            [e.path for e, f in usable if f.mode in HIGH_BIT_DEPTH_MODES],
            "16-bit or float images: they are stretched to 8 bits from their own range; "
            "check that intensities mean the same thing across images",
        ),
        (
            NoticeKind.cmyk,
            [e.path for e, f in usable if f.mode == "CMYK"],
            "CMYK images (print colour): converted to RGB, colours may shift slightly",
        ),
        (
            NoticeKind.transparency,
            [e.path for e, f in usable if f.transparency],
            "images with transparency: transparent pixels are treated as white",
        ),
        (
            NoticeKind.animated,
            [e.path for e, f in usable if f.frames > 1],
            "animated images: only the first frame is used",
        ),
        (
            NoticeKind.grayscale_as_rgb,
            [e.path for e, f in usable if f.gray_rgb],
            "grayscale images stored as RGB (the three channels are equal): read as grayscale",
        ),
    ]
    return [
        Notice(kind=kind, count=len(paths), paths=list(paths), detail=detail)
        for kind, paths, detail in candidates
        if paths
    ]


def _unevaluated_classes(images: Sequence[Entry]) -> list[Notice]:
    """A notice for the classes that have labeled training images (outside val/test) but none
    in the evaluation split: test, or val when test has no labeled image. Classes with labels
    only in val/test are the reverse, reported as the imbalance's ``missing_classes``."""
    labeled = [e for e in images if e.label is not None]
    evaluation = next((s for s in EVALUATION_ORDER if any(e.split == s for e in labeled)), None)
    if evaluation is None:
        return []  # nothing to score on: the pilot holds out images of every class itself
    scored = {e.label for e in labeled if e.split == evaluation}
    unscored = [e for e in labeled if e.split not in EVALUATION_SPLITS and e.label not in scored]
    if not unscored:
        return []
    counts = Counter(e.label for e in unscored)
    names = sorted(counts)
    shown = ", ".join(f"'{c}' {counts[c]:,}" for c in names[:NAMED_CLASSES])
    if len(names) > NAMED_CLASSES:
        shown += f" and {len(names) - NAMED_CLASSES:,} more classes"
    detail = (
        f"training images in classes with no {evaluation} images ({shown}): {evaluation} "
        "scores will never measure these classes, nor will the pilot, which scores every arm "
        f"on the {evaluation} images; move some of their images into {evaluation}"
    )
    paths = [e.path for e in unscored]
    return [
        Notice(kind=NoticeKind.unevaluated_classes, count=len(paths), paths=paths, detail=detail)
    ]
