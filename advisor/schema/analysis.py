"""What ``advisor analyze`` writes: profile, probes and recommendation together."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from advisor.schema.base import Model
from advisor.schema.decision import Recommendation
from advisor.schema.probes import Probes
from advisor.schema.profile import Profile
from advisor.schema.vocabulary import SCHEMA_VERSION


class Analysis(Model):
    """What advisor analyze --json writes: the profile of a dataset."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    seed: int
    profile: Profile
    probes: Probes | None = Field(description="None with --no-probes.")
    recommendation: Recommendation | None = Field(
        description="None when there are no labeled images to advise on."
    )
