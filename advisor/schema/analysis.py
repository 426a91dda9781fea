"""What ``advisor analyze`` writes: profile, probes and recommendation together."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from advisor.schema.base import Displayed, Model
from advisor.schema.decision import Recommendation
from advisor.schema.probes import Probes
from advisor.schema.profile import Profile
from advisor.schema.vocabulary import SCHEMA_VERSION, Domain, PoolRelation, Protocol, Task


class Declared(Model):
    """What the user told ``advisor analyze`` about the data that the images cannot tell; each
    is used beside what the probes measured, and both are shown when they disagree."""

    domain: Domain | None = None
    task: Task | None = None
    fine_grained: bool | None = None
    protocol: Protocol | None = None
    pool: PoolRelation | None = None


class Analysis(Displayed):
    """What advisor analyze --json writes: the profile of a dataset."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    seed: int
    profile: Profile
    probes: Probes | None = Field(description="None with --no-probes.")
    declared: Declared = Field(default_factory=Declared)
    recommendation: Recommendation | None = Field(
        description="None when there is no advice; no_advice then says why."
    )
    no_advice: str | None = Field(default=None, description="Why there is no recommendation.")
