"""The cost forecast: image-passes from the published schedules, device-hours from a measured or
a reference throughput, the budget's effect on the verdict, and bad compute options."""

from __future__ import annotations

import math

import pytest
import torch
import yaml
from helpers import invoke, make_card
from torch import nn

from advisor.advice.cost import (
    arm_cost,
    forecast,
    image_passes,
    passes_per_image,
    reference_throughput,
)
from advisor.advice.decide import recommend
from advisor.advice.features import features_from_card
from advisor.advice.settings import ComputeSettings
from advisor.errors import InputError
from advisor.knowledge.costs import build_costs, load_costs
from advisor.probing.backbone import Backbone
from advisor.probing.preprocessing import Preprocessing
from advisor.probing.throughput import measure_throughput
from advisor.schema.cost import Schedule, Throughput

SOURCE = {"citation": "a test", "where": "here", "kind": "paper"}


def schedule(**changes) -> dict:
    entry = {
        "id": "s",
        "family": "simclr",
        "use": "ssl",
        "architecture": "resnet50",
        "dataset": "d",
        "pool_images": 1000,
        "epochs": 100,
        "resolution": 224,
        "crops": [224, 224],
        "source": SOURCE,
    }
    return {**entry, **changes}


DEVICES = {
    "devices": [
        {
            "id": "a100",
            "name": "a test GPU",
            "kind": "accelerator",
            "figures": [
                {"architecture": "resnet50", "precision": "amp", "train": 1000, "source": SOURCE},
                {"architecture": "resnet50", "precision": "fp32", "train": 400, "source": SOURCE},
            ],
        },
        {
            "id": "core",
            "name": "a CPU core that times two networks",
            "kind": "cpu",
            "figures": [
                {"architecture": "resnet50", "precision": "fp32", "train": 2, "source": SOURCE},
                {"architecture": "resnet18", "precision": "fp32", "train": 20, "source": SOURCE},
            ],
        },
        {
            "id": "bridge",
            "name": "a GPU that times two networks",
            "kind": "accelerator",
            "figures": [
                {"architecture": "resnet50", "precision": "amp", "train": 500, "source": SOURCE},
                {"architecture": "resnet18", "precision": "amp", "train": 1500, "source": SOURCE},
            ],
        },
    ],
    "utilization": {"value": 1.0, "basis": "a test"},
    "architectures": [
        {"id": "resnet50", "gmacs": 4.0, "source": SOURCE},
        {"id": "resnet18", "gmacs": 2.0, "source": SOURCE},
        {"id": "vit_base_patch16_224", "aliases": ["vitb"], "gmacs": 16.0, "source": SOURCE},
    ],
}


def knowledge(*schedules: dict):
    return build_costs(yaml.safe_dump(list(schedules)), yaml.safe_dump(DEVICES))


THREE = (
    schedule(id="a", epochs=100),
    schedule(id="b", epochs=200),
    schedule(id="c", epochs=800),
    schedule(id="cont", use="continued", epochs=10),
    schedule(id="ft", use="finetune", epochs=30, crops=[224]),
)


def rate(images_per_second: float) -> Throughput:
    return Throughput(
        architecture="resnet50",
        device="test",
        batch_sizes=[8],
        resolutions=[224],
        forward=[images_per_second * 3],
        train=[images_per_second],
        basis="a test",
    )


def test_passes_count_crops_by_their_pixels_and_teachers_by_a_third():
    plain = Schedule.model_validate(schedule())
    assert passes_per_image(plain) == 2
    multi = Schedule.model_validate(schedule(crops=[224, 224, 112, 112, 112, 112]))
    assert passes_per_image(multi) == pytest.approx(3)
    momentum = Schedule.model_validate(schedule(teacher_crops=[224, 224]))
    assert passes_per_image(momentum) == pytest.approx(2 + 2 / 3)
    masked = Schedule.model_validate(schedule(crops=[224], mask_ratio=0.75))
    assert passes_per_image(masked) == pytest.approx(0.25)


def test_steps_are_carried_over_as_the_epochs_they_made_of_their_pool():
    by_steps = Schedule.model_validate(
        schedule(epochs=None, steps=500, batch_size=400, pool_images=2000)
    )
    assert image_passes(by_steps, 10_000) == pytest.approx(100 * 10_000 * 2)


def test_forecast_grows_in_proportion_to_the_pool_and_the_epochs():
    costs = knowledge(*THREE)
    small = arm_cost("ssl", costs, 10_000, 0, 100.0, None, None)
    large = arm_cost("ssl", costs, 20_000, 0, 100.0, None, None)
    assert small.hours is not None and large.hours is not None
    assert large.pretraining_images == 2 * small.pretraining_images
    for field in ("mean", "low", "high"):
        assert getattr(large.hours, field) == pytest.approx(2 * getattr(small.hours, field), 0.01)
    longer = knowledge(*(dict(s, epochs=2 * s["epochs"]) for s in THREE))
    doubled = arm_cost("ssl", longer, 10_000, 0, 100.0, None, None)
    assert doubled.pretraining_images == 2 * small.pretraining_images


def test_forecast_hours_are_passes_over_the_rate_with_the_spread_of_the_schedules():
    costs = knowledge(*THREE)
    cost = forecast(costs, 10_000, 1_000, rate(100.0), ComputeSettings(), "resnet50")
    ssl = cost.arm("ssl")
    # median 200 epochs x 2 crops x 10,000 images, plus 30 epochs x 1,000 labels, at 100/s
    assert ssl.hours is not None
    assert ssl.hours.mean == pytest.approx((200 * 2 * 10_000 + 30 * 1_000) / 100 / 3600, 0.01)
    assert ssl.hours.low == pytest.approx((100 * 2 * 10_000 + 30 * 1_000) / 100 / 3600, 0.01)
    assert ssl.hours.high == pytest.approx((800 * 2 * 10_000 + 30 * 1_000) / 100 / 3600, 0.01)
    tl = cost.arm("tl")
    assert tl.pretraining_images == 0 and tl.hours is not None
    assert tl.hours.mean < cost.arm("tl+ssl").hours.mean < ssl.hours.mean
    assert cost.device_origin == "measured"


def test_hours_are_at_the_share_of_benchmark_speed_real_runs_reach():
    full = forecast(knowledge(*THREE), 10_000, 1_000, rate(100.0), ComputeSettings(), "resnet50")
    half = build_costs(
        yaml.safe_dump(list(THREE)),
        yaml.safe_dump({**DEVICES, "utilization": {"value": 0.5, "basis": "a test"}}),
    )
    slow = forecast(half, 10_000, 1_000, rate(100.0), ComputeSettings(), "resnet50")
    for arm in ("tl", "ssl", "tl+ssl"):
        assert slow.arm(arm).hours.mean == pytest.approx(2 * full.arm(arm).hours.mean, 0.01)
    assert any("50% of that speed" in note for note in slow.notes)


def test_a_missing_schedule_is_said_and_not_invented():
    costs = knowledge(*(s for s in THREE if s["use"] != "continued"))
    cost = forecast(costs, 10_000, 1_000, rate(100.0), ComputeSettings(), "resnet50")
    hybrid = cost.arm("tl+ssl")
    assert hybrid.hours is None
    assert "continued" in (hybrid.missing or "")
    assert cost.arm("ssl").hours is not None


def test_price_and_budget_mark_each_arm():
    costs = knowledge(*THREE)
    settings = ComputeSettings(budget_hours=1.0, price_per_hour=2.5)
    cost = forecast(costs, 10_000, 1_000, rate(100.0), settings, "resnet50")
    for arm in cost.arms:
        assert arm.hours is not None and arm.price is not None
        assert arm.price.mean == pytest.approx(2.5 * arm.hours.mean, 0.01)
        assert arm.affordable == (arm.hours.mean <= 1.0)
    assert cost.arm("tl").affordable and not cost.arm("ssl").affordable


def test_reference_figures_own_bridged_and_by_compute():
    costs = knowledge(*THREE)
    own = reference_throughput(costs, "a100", "resnet50")
    assert own is not None and own.train == [1000]  # mixed precision first
    fp32 = reference_throughput(costs, "a100", "resnet50", "fp32")
    assert fp32 is not None and fp32.train == [400]
    bridged = reference_throughput(costs, "a100", "resnet18")
    # 1000 x 1500/500, from the other GPU: never the CPU core's ratio of 10, listed first
    assert bridged is not None and bridged.train == [pytest.approx(3000)]
    on_core = reference_throughput(costs, "core", "resnet18")
    assert on_core is not None and on_core.train == [20]
    by_compute = reference_throughput(costs, "a100", "vitb")  # an alias
    assert by_compute is not None and by_compute.train == [pytest.approx(250)]  # 1000 x 4/16
    assert by_compute.architecture == "vit_base_patch16_224"
    assert reference_throughput(costs, "a100", "unknown_net") is None
    with pytest.raises(InputError, match="not a reference device"):
        reference_throughput(costs, "abacus", "resnet50")


def test_without_a_measurement_the_reference_device_is_used_and_said():
    costs = knowledge(*THREE)
    settings = ComputeSettings()
    cost = forecast(costs, 10_000, 1_000, None, settings, None)
    assert cost.device_origin == "reference"
    assert cost.architecture == "resnet50"
    assert any("No network was timed or named" in note for note in cost.notes)


def test_a_rate_is_read_between_the_sizes_timed():
    timed = Throughput(
        architecture="n",
        device="d",
        batch_sizes=[32, 8],
        resolutions=[64, 224],
        forward=[300.0, 50.0],
        train=[100.0, 10.0],
        basis="t",
    )
    assert timed.train_rate(64) == pytest.approx(100)
    assert timed.train_rate(224) == pytest.approx(10)
    between = timed.train_rate(160)
    assert 10 < between < 100
    # seconds per image are linear in the pixels: a fixed part and a part per pixel
    per_pixel = (1 / 10 - 1 / 100) / (224**2 - 64**2)
    assert 1 / between == pytest.approx(1 / 100 + per_pixel * (160**2 - 64**2))


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--compute-budget", "-3"),
        ("--compute-budget", "0"),
        ("--compute-budget", "nan"),
        ("--price-per-hour", "-1"),
        ("--price-per-hour", "inf"),
        ("--device-profile", "abacus"),
    ],
)
def test_bad_compute_options_exit_2_in_one_line(tmp_path, option, value):
    card = tmp_path / "card.yaml"
    card.write_text(yaml.safe_dump(make_card().model_dump(mode="json", exclude_none=True)))
    result = invoke(["decide", str(card), option, value])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("advisor: error:"), result.stderr
    assert "Traceback" not in result.stderr


def _features(**changes):
    return features_from_card(make_card(**changes))


def test_every_budget_flip_is_applied_and_checked():
    """A budget that cannot pay for the evidence's verdict changes it; the flip says the
    budget that would restore it, and at that budget the verdict really is restored, one
    hour-hundredth below it not."""
    features = _features(domain="medical-xray", labeled_images=500, unlabeled_images=200_000)
    settings = ComputeSettings(device_profile="v100")
    free = recommend(features, compute=settings)
    assert free.verdict != "tl" and free.cost is not None
    needed = free.cost.arm(free.verdict).hours
    assert needed is not None
    tight = ComputeSettings(budget_hours=needed.mean / 2, device_profile="v100")
    budgeted = recommend(features, compute=tight)
    assert budgeted.verdict != free.verdict
    assert budgeted.cost is not None and budgeted.cost.unbudgeted_verdict == free.verdict
    assert any("does not pay for" in c for c in budgeted.caveats)
    flip = next(f for f in budgeted.flip if f.feature == "compute_budget_hours")
    assert flip.verdict == free.verdict and f"{flip.value:,g} device-hours" in flip.text
    at = recommend(
        features, compute=ComputeSettings(budget_hours=flip.value, device_profile="v100")
    )
    assert at.verdict == free.verdict
    below = recommend(
        features,
        compute=ComputeSettings(budget_hours=flip.value * 0.999, device_profile="v100"),
    )
    assert below.verdict == budgeted.verdict
    # and from an affordable verdict, the budget under which it would go
    roomy = recommend(
        features, compute=ComputeSettings(budget_hours=flip.value * 10, device_profile="v100")
    )
    assert roomy.verdict == free.verdict
    under = next(f for f in roomy.flip if f.feature == "compute_budget_hours")
    lower = recommend(
        features, compute=ComputeSettings(budget_hours=under.value * 0.999, device_profile="v100")
    )
    assert lower.verdict == under.verdict != free.verdict


def test_no_budget_leaves_the_verdict_and_still_shows_the_cost():
    features = _features(domain="medical-xray", labeled_images=500, unlabeled_images=200_000)
    rec = recommend(features)
    assert rec.cost is not None and rec.cost.budget_hours is None
    assert all(arm.affordable is None for arm in rec.cost.arms)
    assert not any(f.feature == "compute_budget_hours" for f in rec.flip)


def test_the_shipped_schedules_cover_every_arm():
    costs = load_costs()
    for use in ("ssl", "continued", "finetune"):
        assert any(s.use == use for s in costs.schedules), use
    cost = forecast(costs, 50_000, 2_000, None, ComputeSettings(device_profile="a100"), None)
    assert all(arm.hours is not None for arm in cost.arms)


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x).mean((2, 3)))


class _FixedSize(_Tiny):
    """A network that takes one input size only, as a transformer built for it does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-1] == 64, "built for 64 px"
        return super().forward(x)


def _backbone(model: nn.Module, spec: str) -> Backbone:
    pre = Preprocessing(64, 0.875, "bilinear", (0.5,) * 3, (0.5,) * 3)
    return Backbone(spec, "tiny", model, pre, False, "w", None)


def test_throughput_is_timed_at_the_pilot_and_full_scale_sizes_without_touching_the_weights():
    model = _Tiny()
    before = [p.detach().clone() for p in model.parameters()]
    timed = measure_throughput(_backbone(model, "random:tiny"), torch.device("cpu"), "tiny")
    assert timed is not None
    assert timed.resolutions == [64, 224]
    assert all(r > 0 and math.isfinite(r) for r in timed.train + timed.forward)
    assert timed.train[0] > timed.train[1]  # more pixels, fewer images per second
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_a_size_the_network_cannot_take_is_left_out():
    timed = measure_throughput(
        _backbone(_FixedSize(), "random:fixed"), torch.device("cpu"), "fixed"
    )
    assert timed is not None and timed.resolutions == [64]


def test_a_pilot_blend_keeps_to_the_budget():
    """The literature's advice combined with a pilot applies the same budget: an arm the
    budget cannot pay for is not named however the pilot measured it, and the flip names the
    budget at which the blend's own verdict comes back."""
    from helpers import STORED_PILOT

    from advisor.advice.decide import combine_with_pilot
    from advisor.schema.pilot import PilotResult

    stored = PilotResult.model_validate_json(STORED_PILOT.read_text())
    won = [
        d.model_copy(update={"accuracy_points": 12.0, "low": 9.0, "high": 15.0})
        if d.arm == "tl+ssl"
        else d
        for d in stored.differences
    ]
    pilot = stored.model_copy(update={"differences": won, "ssl_still_improving": False})
    features = pilot.recommendation.features
    free = combine_with_pilot(recommend(features), pilot)
    assert free.verdict == "tl+ssl"
    tight = ComputeSettings(budget_hours=1e-6)
    budgeted = combine_with_pilot(recommend(features, compute=tight), pilot)
    assert budgeted.cost is not None and budgeted.cost.budget_hours == 1e-6
    assert budgeted.verdict == "tl" and budgeted.cost.unbudgeted_verdict == "tl+ssl"
    assert sum(c.startswith("Your compute budget of") for c in budgeted.caveats) == 1
    assert any("Even fine-tuning alone" in c for c in budgeted.caveats)
    flip = next(f for f in budgeted.flip if f.feature == "compute_budget_hours")
    assert flip.verdict == "tl+ssl"
    restored = ComputeSettings(budget_hours=flip.value)
    assert combine_with_pilot(recommend(features, compute=restored), pilot).verdict == "tl+ssl"


def test_pretraining_steps_need_the_pool_they_ran_on():
    from pydantic import ValidationError

    steps = {"epochs": None, "steps": 100, "batch_size": 10, "pool_images": None}
    with pytest.raises(ValidationError, match="pool_images"):
        Schedule.model_validate(schedule(**steps))
    tuning = Schedule.model_validate(schedule(use="finetune", **steps))
    assert image_passes(tuning, 123) == image_passes(tuning, 456) == 100 * 10 * 2
