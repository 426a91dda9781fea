"""The one place that opens image files.

Everything that decodes pixels goes through here, so that mode conversion (16-bit, CMYK,
palettes with transparency, animations) follows one policy across the profile, the probes and
the pilot.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Sequence
from functools import cache
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from advisor.data import quality, resolution

THUMB_SIDE = 32
"""Longest side of the grayscale thumbnail kept per image for near-duplicate search (at most
1,024 bytes). Images that fit are kept at their own size, pixel for pixel: a crop or a one-pixel
shift of a 28 px image is then an exact offset of the original's thumbnail, where a thumbnail
resampled to a fixed square turns it into a fractional shift and rescale that no threshold
separates from look-alikes (issue 19)."""

GRAY_TOLERANCE = 3
"""Largest difference between the channels of an RGB image (after 4x4 box averaging) for which
it counts as grayscale stored as colour: JPEG's rounding leaves neutral grays 1-2 levels apart,
while a coloured mark of a single pixel still differs by over 10 after the averaging."""

HIGH_BIT_DEPTH_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


class ImageFacts(NamedTuple):
    """What one file is, read in a single pass over its bytes (a named tuple: 100,000 of them
    cross a process boundary, and tuples pickle an order of magnitude faster than dataclasses).

    ``error`` is set when the file could not be used; ``oversized`` when it is an image whose
    pixel count passes Pillow's decompression-bomb limit (its pixels are then never decoded).
    ``thumb`` is None unless the image was decoded.
    """

    size: int
    digest: bytes
    format: str | None = None
    width: int = 0
    height: int = 0
    mode: str | None = None
    frames: int = 1
    transparency: bool = False
    error: str | None = None
    is_image: bool = False
    oversized: bool = False
    thumb: bytes | None = None
    gray_rgb: bool = False
    """An RGB image whose three channels are equal: grayscale stored as colour (decoded only)."""
    quality: bytes | None = None
    """Blur, noise, brightness, contrast and JPEG quality as packed float32 (decoded only; see
    ``advisor.data.quality.measure``)."""
    fine: float | None = None
    """Share of the image's variance in detail finer than its thumbnail holds (decoded images of
    at least twice ``THUMB_SIDE`` only; see ``advisor.data.resolution``)."""

    @property
    def usable(self) -> bool:
        """An image that opened without error: what every count, sample and probe uses."""
        return self.is_image and self.error is None


def content_digest(data: bytes) -> bytes:
    """The content hash that identifies a file everywhere: duplicates, caches, samples."""
    return hashlib.blake2b(data, digest_size=16).digest()


def pixel_limit() -> int:
    """Pixel count above which Pillow's defaults warn or refuse (decompression bomb)."""
    return Image.MAX_IMAGE_PIXELS or 0


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB with one policy.

    16-bit and float images are stretched from their own min..max (their nominal range is rarely
    used, and clipping would turn most of them white); transparent pixels become white, which is
    what the images look like in a viewer.
    """
    if img.mode == "RGB":
        return img.convert("L").convert("RGB") if is_gray_rgb(img) else img
    if img.mode in HIGH_BIT_DEPTH_MODES:
        return _stretch_to_l(img).convert("RGB")
    if img.mode in ALPHA_MODES or (img.mode in ("P", "L", "RGB") and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def is_gray_rgb(img: Image.Image) -> bool:
    """Grayscale stored as RGB: the channels agree everywhere, within ``GRAY_TOLERANCE``."""
    return img.mode == "RGB" and gray_rgb_flags([_box_averaged(img)])[0]


def gray_rgb_flags(pixels: Sequence[bytes]) -> list[bool]:
    """``is_gray_rgb`` of many RGB images at once, from their ``_box_averaged`` pixels: the scan
    checks a chunk of images in one numpy pass (image by image, numpy's call overhead cost about
    as much as decoding a 32 px PNG)."""
    rgb = np.frombuffer(b"".join(pixels), dtype=np.uint8).reshape(-1, 3)
    red, green, blue = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    spread = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
    starts = np.cumsum([0, *(len(p) // 3 for p in pixels[:-1])])
    return (np.maximum.reduceat(spread, starts) <= GRAY_TOLERANCE).tolist()


def _box_averaged(rgb: Image.Image) -> bytes:
    """The pixels the gray check reads: 4x4 box averages, which leave JPEG's rounding of neutral
    grays within ``GRAY_TOLERANCE`` (images under 16 px a side as they are)."""
    return (rgb.reduce(4) if min(rgb.size) >= 16 else rgb).tobytes()


def open_rgb(path: str, draft: int | None = None) -> Image.Image:
    """Decode an image file (its first frame) into 8-bit RGB under the mode policy of ``to_rgb``:
    what every network in the tool sees. With ``draft``, a JPEG is decoded at the smallest
    reduced scale still at least that many pixels a side: a fraction of a full decode."""
    with Image.open(path) as img:
        if draft is not None:
            img.draft("RGB", (draft, draft))
        img.load()
        rgb = to_rgb(img)
        return rgb.copy() if rgb is img else rgb  # closing the file frees an image it returns


def open_gray(path: str, side: int) -> np.ndarray:
    """Decode an image file into 2-D uint8 grayscale at most ``side`` pixels a side, keeping its
    aspect, under the mode policy of the thumbnails (a JPEG decoded at a reduced scale)."""
    with Image.open(path) as img:
        if img.format == "JPEG":
            img.draft("L", (side, side))
        img.load()
        gray = _to_gray(img)
        shape = fitted_shape(gray.width, gray.height, side)
        if gray.size != shape[::-1]:
            gray = gray.resize(shape[::-1], Image.Resampling.BILINEAR)
        return np.array(gray, dtype=np.uint8)


def _stretch_to_l(img: Image.Image) -> Image.Image:
    arr = np.asarray(img, dtype=np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    return Image.fromarray(scaled.round().astype(np.uint8))


def _to_gray(img: Image.Image) -> Image.Image:
    if img.mode == "L":
        return img
    if img.mode == "RGB":
        return img.convert("L")
    if img.mode in HIGH_BIT_DEPTH_MODES:
        return _stretch_to_l(img)
    return to_rgb(img).convert("L")


def inspect_file(path: str, decode: bool = True) -> ImageFacts:
    """Read a file once: its size and content hash, and, when it is an image, its header facts,
    a small grayscale thumbnail and its quality measures.

    Decoding the full image (not just the header) is what finds truncated and corrupt files;
    the thumbnail it yields costs little more and feeds the near-duplicate search. Without
    ``decode`` only the format's own integrity checks run (PNG chunk checksums, via Pillow's
    ``verify``): about a third of the cost, no thumbnail and no quality measures.
    """
    return inspect_files([path], decode)[0]


def inspect_files(paths: Sequence[str], decode: bool = True) -> list[ImageFacts]:
    """``inspect_file`` for each path, with the quality measures of all the decoded images
    computed together (``quality.measure``: one pass over a stack costs a fraction of one per
    image)."""
    read = [_as_read(_read_file(path, decode)) for path in paths]
    decoded = [i for i, r in enumerate(read) if r.working is not None]
    facts = [r.facts for r in read]
    if decoded:
        rows = quality.measure(
            [read[i].working or b"" for i in decoded], [read[i].jpeg for i in decoded]
        )
        for i, row in zip(decoded, rows, strict=True):
            facts[i] = facts[i]._replace(quality=row)
    large = [i for i, r in enumerate(read) if r.square is not None]
    if large:
        shares = resolution.fine_shares(
            [read[i].square or b"" for i in large],
            [thumb_shape(facts[i].width, facts[i].height) for i in large],
        )
        for i, share in zip(large, shares.tolist(), strict=True):
            facts[i] = facts[i]._replace(fine=share)
    rgb = [i for i, r in enumerate(read) if r.box_averaged is not None]
    if rgb:
        flags = gray_rgb_flags([read[i].box_averaged or b"" for i in rgb])
        for i, flag in zip(rgb, flags, strict=True):
            facts[i] = facts[i]._replace(gray_rgb=flag)
    return facts


class _Read(NamedTuple):
    """A decoded image's facts with what its quality measures are computed from."""

    facts: ImageFacts
    working: bytes | None = None
    """The image's quality working image (decoded images only)."""
    jpeg: float = math.nan
    """Its JPEG quality (JPEG files only)."""
    box_averaged: bytes | None = None
    """The pixels its gray check reads (decoded RGB images only; see ``_box_averaged``)."""
    square: bytes | None = None
    """Its grayscale resampled to ``resolution.SIDE`` a side, which its share of fine detail is
    measured on (decoded images of at least twice ``THUMB_SIDE`` only)."""


def _as_read(result: ImageFacts | _Read) -> _Read:
    return result if isinstance(result, _Read) else _Read(result)


def _read_file(path: str, decode: bool) -> ImageFacts | _Read:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return ImageFacts(size=0, digest=b"", error="broken link or file vanished during the scan")
    except OSError as exc:
        return ImageFacts(size=0, digest=b"", error=f"cannot read the file: {exc.strerror or exc}")
    digest = content_digest(data)
    if not data:
        return ImageFacts(size=0, digest=digest, error="empty file (0 bytes)")
    return _inspect_bytes(data, digest, decode)


def _inspect_bytes(data: bytes, digest: bytes, decode: bool = True) -> ImageFacts | _Read:
    # Pillow's format plugins raise many exception types on malformed files (OSError, but also
    # TypeError, IndexError, struct.error...); one damaged file must never stop a scan, so every
    # failure past the format's signature makes the file unreadable, with the reason.
    size = len(data)
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        return ImageFacts(size=size, digest=digest, error="not an image Pillow can read")
    except Image.DecompressionBombError as exc:
        return ImageFacts(size=size, digest=digest, is_image=True, oversized=True, error=str(exc))
    except Exception as exc:
        return ImageFacts(size=size, digest=digest, is_image=True, error=f"corrupt header: {exc}")
    with img:
        try:
            width, height = img.size
            header = {
                "size": size,
                "digest": digest,
                "format": img.format,
                "width": width,
                "height": height,
                "mode": img.mode,
                "frames": getattr(img, "n_frames", 1),
                "transparency": img.mode in ALPHA_MODES or "transparency" in img.info,
                "is_image": True,
            }
        except Exception as exc:
            return ImageFacts(size=size, digest=digest, is_image=True, error=f"corrupt: {exc}")
        limit = pixel_limit()
        if limit and width * height > limit:
            detail = (
                f"{width}x{height} = {width * height:,} pixels, over the "
                f"decompression-bomb limit of {limit:,}"
            )
            return ImageFacts(**header, oversized=True, error=detail)
        try:
            if not decode:
                img.verify()
                return ImageFacts(**header)
            if img.format == "JPEG":  # decode at a reduced scale: the thumbnail is all we keep
                colour = (
                    "RGB" if img.mode == "RGB" else "L"
                )  # enough to tell grayscale stored as RGB
                img.draft(colour, (THUMB_SIDE * 2, THUMB_SIDE * 2))
            img.load()
            gray = _to_gray(img)
            thumb = gray
            if thumb.size != (shape := thumb_shape(width, height))[::-1]:
                thumb = thumb.resize(shape[::-1], Image.Resampling.BILINEAR)
            pixels = thumb.tobytes()
            same = quality.is_working_image(gray, thumb)
            working = pixels if same else quality.working_image(gray)
            box_averaged = _box_averaged(img) if img.mode == "RGB" else None
            square = None
            if max(width, height) >= 2 * THUMB_SIDE:
                side = (resolution.SIDE, resolution.SIDE)
                resized = gray.resize(
                    side, Image.Resampling.BILINEAR, reducing_gap=quality.REDUCING_GAP
                )
                square = resized.tobytes()
        except Exception as exc:
            return ImageFacts(**header, error=f"cannot decode: {_decode_reason(exc)}")
        jpeg = quality.jpeg_quality_of(getattr(img, "quantization", None))
        return _Read(ImageFacts(**header, thumb=pixels), working, jpeg, box_averaged, square)


def thumb_shape(width: int, height: int) -> tuple[int, int]:
    """(rows, columns) of the thumbnail of a width x height image (see ``fitted_shape``)."""
    return fitted_shape(width, height, THUMB_SIDE)


def fitted_shape(width: int, height: int, side: int) -> tuple[int, int]:
    """(rows, columns) of a width x height image fitted within ``side`` pixels: its own size when
    it fits, else scaled down to fit, keeping its aspect."""
    scale = min(1.0, side / max(width, height, 1))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _decode_reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "truncated" in text.lower():
        return "truncated file"
    return text


@cache
def image_extensions() -> frozenset[str]:
    """Extensions of the formats Pillow can read: a file with one of these that does not decode
    is a problem, any other file that does not decode is simply not an image. Formats Pillow only
    writes (PDF) or only identifies without a decoder (HDF5, GRIB, BUFR stubs) do not count."""
    Image.init()
    readable = {
        name
        for name, (factory, _accept) in Image.OPEN.items()
        if not (isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile))
    }
    return frozenset(
        ext.lower() for ext, name in Image.registered_extensions().items() if name in readable
    )
