"""Property: for any small tree of valid PNGs, corrupt, empty and non-image files with random
names, building the profile never raises (except InputError when there is no readable image),
and every count adds up."""

from __future__ import annotations

import tempfile
from pathlib import Path

from helpers import png_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.errors import InputError
from advisor.schema.profile import NoticeKind
from advisor.services.analyze import AnalyzeSettings, analyze

# Folder names: layout words (splits, unlabeled pools), class-like names, a hidden folder.
FOLDERS = st.sampled_from(
    ["train", "val", "test", "Validation", "unlabeled", "cat", "dog", "a b", "été", ".cache"]
)
STEMS = st.text(alphabet="abcXYZ_- .é0", min_size=1, max_size=8)
EXTENSIONS = st.sampled_from([".png", ".PNG", ".jpg", ".txt", ".csv", ".gif", ""])
KINDS = st.sampled_from(["png", "truncated", "empty", "text"])
# The same few PNGs so that duplicates, conflicts and leaks arise; content is deterministic.
PNGS = [png_bytes(seed, side=16) for seed in range(3)]

FILES = st.lists(
    st.tuples(st.lists(FOLDERS, max_size=3), STEMS, EXTENSIONS, KINDS, st.integers(0, 2)),
    min_size=0,
    max_size=8,
)


def content(kind: str, which: int, cut: float) -> bytes:
    png = PNGS[which]
    if kind == "png":
        return png
    if kind == "truncated":
        # the 8-byte signature and at most half of the rest: never a decodable image
        return png[: 8 + int(cut * (len(png) - 8) / 2)]
    if kind == "empty":
        return b""
    # letters and spaces: no image format Pillow knows starts like this
    return b"label notes for image " * (which + 1)


def hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") for part in parts)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(files=FILES, cut=st.floats(0, 1))
def test_profile_never_raises_and_counts_add_up(files, cut: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        root.mkdir()
        written: dict[tuple[str, ...], str] = {}
        for i, (folders, stem, ext, kind, which) in enumerate(files):
            # a numbered name never collides with a folder name or another file
            parts = (*folders, f"{stem}{i}{ext}")
            path = root.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content(kind, which, cut))
            written[parts] = kind

        visible = {p: k for p, k in written.items() if not hidden(p)}
        hidden_entries = {
            p[: next(i for i, x in enumerate(p) if x.startswith(".")) + 1]
            for p in written
            if hidden(p)
        }
        try:
            profile = analyze(AnalyzeSettings(root)).profile
        except InputError:
            assert "png" not in visible.values()
            return

        f = profile.files
        assert f.seen == f.images + f.unreadable + f.oversized + f.non_image + f.hidden
        assert profile.labeled + profile.unlabeled == f.images
        assert sum(profile.class_counts.values()) == profile.labeled
        assert sum(s.images for s in profile.splits.values()) == f.images
        assert sum(s.labeled for s in profile.splits.values()) == profile.labeled
        for split in profile.splits.values():
            assert split.labeled + split.unlabeled == split.images
            assert sum(split.class_counts.values()) == split.labeled
        # what the tree holds, exactly
        assert f.images == sum(k == "png" for k in visible.values())
        assert f.oversized == 0
        assert f.unreadable + f.non_image == sum(k != "png" for k in visible.values())
        assert f.hidden == len(hidden_entries)
        assert f.seen == len(visible) + len(hidden_entries)
        # every problem and notice names files of the tree
        for problem in profile.problems:
            assert all(Path(p).is_relative_to(root) for p in problem.paths)
        for notice in profile.notices:  # a count of files, but for the search's unjudged pairs
            if notice.kind != NoticeKind.unjudged_pairs:
                assert notice.count == len(notice.paths)
