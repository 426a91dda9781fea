"""The ``backbones`` service: which backbone specs work offline on this machine."""

from __future__ import annotations

from advisor import __version__
from advisor.schema.backbones import BackboneList


def backbones() -> BackboneList:
    from advisor.probing.catalogue import available_backbones  # imports torch: only when asked

    return BackboneList(tool_version=__version__, backbones=available_backbones())
