"""Plan, run, save and resume a pilot.

Every finished (arm, seed) is written atomically to ``OUT/units/``; the self-supervised weights
of an SSL arm are checkpointed to ``OUT/checkpoints/`` as soon as its self-supervised phase ends,
so a resumed pilot neither repeats a finished unit nor a finished phase. The plan is made before
training and stored in ``OUT/plan.json``; with a time budget, each seed after the first is
re-planned (and stored) before it starts. A resumed pilot reuses the stored plan as it is, after
checking that the data and options are the ones it was made for.
"""

from __future__ import annotations

import hashlib
import io
import json
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from advisor import __version__
from advisor.analyze import data_folders
from advisor.backbones import Backbone, load_backbone
from advisor.errors import InputError
from advisor.features import resolve_device
from advisor.output import write_atomically, write_bytes_atomically
from advisor.pilot import data as pdata
from advisor.pilot import models, stats, train
from advisor.pilot.budget import Budget
from advisor.profile import build_profile
from advisor.scan import discover, inspect_all
from advisor.schema import (
    Analysis,
    ArmSummary,
    CurvePoint,
    PairedDifference,
    PilotPlan,
    PilotResult,
    SeedSteps,
    UnitResult,
)

ARMS = ("tl", "tl+ssl", "ssl", "scratch")
SSL_ARMS = ("ssl", "tl+ssl")
PRETRAINED = {"tl": True, "tl+ssl": True, "ssl": False, "scratch": False}

CPU_RESOLUTION = 64
CPU_BATCH = 32
CPU_LABELED = 1500
CPU_POOL = 3000
GPU_BATCH = 128
GPU_LABELED = 20_000
GPU_POOL = 100_000
CURVE_IMAGES = 400
"""Images per side of the k-NN learning-curve reading (fine-tuning vs evaluation)."""
SSL_TO_FINETUNE = 1.0
"""Self-supervised steps per fine-tuning step in an SSL arm (a convention, stated in the plan)."""
MIN_FINETUNE_STEPS = 5
CALIBRATION_STEPS = 4
COSTS = ("ft", "ssl", "trunk", "ft_start", "ssl_start", "curve", "eval", "linear")
"""What the calibration measures: seconds per step of each phase and the fixed costs of a seed."""
OVERRUN = 1.1
"""A run longer than this share of its time budget says so in its caveats."""
RESERVE_SECONDS = 3.0
"""Kept back from a time budget for the summary, the literature's prior and the result file."""
STILL_IMPROVING = 0.01
"""k-NN accuracy gained over the second half of the self-supervised phase above which SSL is
reported as still improving when the budget ran out."""


@dataclass
class PilotSettings:
    data: Path | None
    unlabeled: Sequence[Path]
    manifest: Path | None
    budget: Budget
    paradigms: Sequence[str]
    method: str
    seeds: int
    backbone: str
    resolution: int | None
    out: Path
    resume: bool
    device: str
    devices: int
    seed: int = 0
    command: str = ""
    order: list[str] = field(init=False)

    def __post_init__(self) -> None:
        unknown = [p for p in self.paradigms if p not in (*ARMS, "tl-linear")]
        if unknown or not self.paradigms:
            raise InputError(
                f"--paradigms: unknown {', '.join(unknown) or '(none given)'}; choose among "
                "tl, ssl, tl+ssl, scratch"
            )
        if self.method not in models.METHODS:
            raise InputError(f"--method must be simclr or byol, not {self.method!r}")
        if self.seeds < 1:
            raise InputError("--seeds must be at least 1")
        if self.devices < 1:
            raise InputError("--devices must be at least 1")
        wanted = set(self.paradigms) | {"tl"}  # every difference is against tl
        self.order = [arm for arm in ARMS if arm in wanted]


class Store:
    """The pilot's folder: plan, finished units, checkpoints, final result."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.units = out / "units"
        self.checkpoints = out / "checkpoints"

    def prepare(self, resume: bool, protected: Sequence[Path]) -> None:
        target = self.out.resolve()
        for folder in protected:
            if folder.resolve().is_dir() and target.is_relative_to(folder.resolve()):
                raise InputError(f"--out {self.out} is inside the data folder {folder}")
        if self.out.exists() and not self.out.is_dir():
            raise InputError(f"--out {self.out} is a file; give a folder")
        has_plan = (self.out / "plan.json").is_file()
        if resume and not has_plan:
            raise InputError(f"--resume: {self.out} holds no pilot to resume (no plan.json)")
        if not resume and self.out.is_dir() and any(self.out.iterdir()):
            hint = " (add --resume to continue it)" if has_plan else ""
            raise InputError(f"--out {self.out} is not empty{hint}")
        self.units.mkdir(parents=True, exist_ok=True)
        self.checkpoints.mkdir(parents=True, exist_ok=True)

    def unit_path(self, arm: str, seed: int) -> Path:
        return self.units / f"{arm.replace('+', '-plus-')}-seed{seed}.json"

    def checkpoint_path(self, arm: str, seed: int) -> Path:
        return self.checkpoints / f"{arm.replace('+', '-plus-')}-seed{seed}.pt"

    def load_unit(self, arm: str, seed: int) -> UnitResult | None:
        path = self.unit_path(arm, seed)
        return UnitResult.model_validate_json(path.read_text()) if path.is_file() else None

    def save_unit(self, unit: UnitResult) -> None:
        write_atomically(self.unit_path(unit.arm, unit.seed), unit.model_dump_json())

    def save_checkpoint(self, arm: str, seed: int, net: torch.nn.Module) -> None:
        buffer = io.BytesIO()
        torch.save(net.state_dict(), buffer)
        write_bytes_atomically(self.checkpoint_path(arm, seed), buffer.getvalue())

    def load_checkpoint(self, arm: str, seed: int, net: torch.nn.Module) -> bool:
        path = self.checkpoint_path(arm, seed)
        if not path.is_file():
            return False
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except Exception as exc:
            raise InputError(
                f"{path} is not a checkpoint of this pilot ({type(exc).__name__}); delete it to "
                "redo that phase"
            ) from None
        return True


def _fingerprint(paths: Sequence[str], digests: Sequence[bytes], labels, settings) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (settings.backbone, settings.method, str(settings.seeds), str(settings.seed)):
        h.update(part.encode() + b"\0")
    h.update(",".join(settings.order).encode())
    for digest, label in zip(digests, labels, strict=True):
        h.update(digest + str(label).encode() + b"\0")
    return h.hexdigest()


class _Sigint:
    """First Ctrl-C: finish the current step, save, stop. A second one stops at once."""

    def __init__(self, stop: train.StopFlag) -> None:
        self.stop = stop
        self.previous = None

    def __enter__(self) -> _Sigint:
        def handle(_signum, _frame) -> None:
            if self.stop.requested:
                raise KeyboardInterrupt
            self.stop.requested = True

        try:
            self.previous = signal.signal(signal.SIGINT, handle)
        except ValueError:  # not the main thread: leave Ctrl-C as it is
            self.previous = None
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class Pilot:
    def __init__(
        self,
        settings: PilotSettings,
        say: Callable[[str], None],
        on_stage: Callable[[str, int, str], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.settings = settings
        self.say = say
        self.on_stage = on_stage
        self.on_progress = on_progress
        self.stop = train.StopFlag()
        self.store = Store(settings.out)

    # --- data ------------------------------------------------------------------------------

    def _load(self) -> None:
        s = self.settings
        found = discover(s.data, s.unlabeled, s.manifest)
        self.store.prepare(s.resume, data_folders(found, s.data, s.unlabeled))
        self._stage("reading files", len(found.entries), "files")
        facts = inspect_all([e.path for e in found.entries], decode=False)
        self.found, self.facts = found, facts
        usable = [i for i, f in enumerate(facts) if f.usable]
        if not any(found.entries[i].label is not None for i in usable):
            raise InputError("the pilot needs labeled images; none were found")
        self.device = resolve_device(s.device)
        cpu = self.device.type == "cpu"
        self.batch = CPU_BATCH if cpu else GPU_BATCH
        self.backbone: Backbone = load_backbone(
            s.backbone, s.resolution or (CPU_RESOLUTION if cpu else None)
        )
        self.resolution = self.backbone.preprocessing.resolution
        labels = [found.entries[i].label for i in usable]
        splits = [found.entries[i].split for i in usable]
        picked = [
            usable[j]
            for j in pdata.choose(
                labels,
                splits,
                CPU_LABELED if cpu else GPU_LABELED,
                CPU_POOL if cpu else GPU_POOL,
                s.seed,
            )
        ]
        eval_split = next((x for x in pdata.EVAL_SPLITS if x in set(splits)), None)
        self._stage(f"decoding at {self.resolution} px", len(picked), "images")
        self.images = pdata.decode(
            [found.entries[i].path for i in picked],
            [found.entries[i].label for i in picked],
            [eval_split is not None and found.entries[i].split == eval_split for i in picked],
            self.resolution,
            self.on_progress,
        )
        pdata.check_splittable(self.images)
        self.eval_source = (
            f"the dataset's own {eval_split} split"
            if self.images.is_eval.any()
            else f"{pdata.EVAL_FRACTION:.0%} of the labeled images, held out per seed"
        )
        self.splits = [pdata.split(self.images, s.seed + k) for k in range(s.seeds)]
        if any(arm in SSL_ARMS for arm in s.order):
            smallest = min(len(sp.pool) for sp in self.splits)
            if smallest < self.batch:
                raise InputError(
                    f"self-supervision needs at least {self.batch} images in its pool (the "
                    f"unlabeled images plus the fine-tuning ones); there are {smallest}"
                )
        self.fingerprint = _fingerprint(
            [found.entries[i].path for i in picked],
            [facts[i].digest for i in picked],
            [found.entries[i].label for i in picked],
            s,
        )
        mean, std = self.backbone.preprocessing.mean, self.backbone.preprocessing.std
        self.train_tf = train.finetune_transform(self.resolution, mean, std)
        self.eval_tf = train.eval_transform(mean, std)
        self.views_tf = models.views(s.method, self.resolution, mean, std)
        self.workers = 1 if cpu else min(8, torch.get_num_threads())
        self.fabric = train.make_fabric(self.device, s.devices)

    def _stage(self, name: str, total: int, unit: str) -> None:
        if self.on_stage:
            self.on_stage(name, total, unit)

    # --- plan ------------------------------------------------------------------------------

    def _calibrate(self) -> dict[str, float]:
        """Seconds per fine-tuning and self-supervised step, and the fixed costs around them
        (building a network, starting its loader, evaluating, a learning-curve reading, the
        linear reading), measured on throwaway copies with the real data path."""
        sp = self.splits[0]
        cost = dict.fromkeys(COSTS, 0.0)
        cost["trunk"] = train.timed(lambda: models.trunk(self.backbone, False, 0))
        net, dim = models.trunk(self.backbone, True, 0)
        model = models.classifier(net, dim, len(self.images.classes), 0)
        batches = train.labeled_loader(
            self.images.pixels,
            self.images.labels,
            sp.finetune,
            self.train_tf,
            self.batch,
            0,
            self.workers,
        )
        cost["ft"], cost["ft_start"] = self._per_step(
            lambda k: train.finetune(self.fabric, model, batches, k, self.stop)
        )
        if any(arm in SSL_ARMS for arm in self.settings.order):
            net, dim = models.trunk(self.backbone, True, 0)
            module = models.ssl_module(self.settings.method, net, dim, 0)
            views = train.views_loader(
                self.images.pixels, sp.pool, self.views_tf, self.batch, 0, self.workers
            )
            cost["ssl"], cost["ssl_start"] = self._per_step(
                lambda k: train.pretrain(self.fabric, module, views, k, self.stop)
            )
            cost["curve"] = train.timed(lambda: self._knn(net, sp))
        cost["eval"] = train.timed(
            lambda: train.outputs(
                self.fabric, model, self.images.pixels, sp.evaluate, self.eval_tf, self.batch * 2
            )
        )
        cost["linear"] = train.timed(lambda: self._linear(sp))
        return cost

    @staticmethod
    def _per_step(run: Callable[[int], object]) -> tuple[float, float]:
        """Seconds per step, from ``CALIBRATION_STEPS`` steps beyond a first one, and what a
        phase costs before its steps (set-up, loader start)."""
        first = train.timed(lambda: run(1))
        more = train.timed(lambda: run(CALIBRATION_STEPS + 1))
        per_step = max((more - first) / CALIBRATION_STEPS, 1e-4)
        return per_step, max(first - per_step, 0.0)

    def _plan(self, started: float) -> PilotPlan:
        s = self.settings
        trained = list(s.order)
        n_ssl = sum(arm in SSL_ARMS for arm in trained)
        cost = self._calibrate() if s.budget.seconds else dict.fromkeys(COSTS, 0.0)
        t_ft, t_ssl = cost["ft"], cost["ssl"]
        fixed_per_seed = (
            len(trained) * (cost["trunk"] + cost["ft_start"] + cost["eval"])
            + n_ssl * (cost["ssl_start"] + 3 * cost["curve"])
            + cost["linear"]
        )
        per_step = len(trained) * t_ft + n_ssl * SSL_TO_FINETUNE * t_ssl
        if s.budget.steps is not None:
            steps = int(s.budget.steps // (s.seeds * (len(trained) + n_ssl * SSL_TO_FINETUNE)))
        else:
            left = s.budget.seconds - (time.perf_counter() - started) - RESERVE_SECONDS
            steps = steps_within(left, s.seeds, fixed_per_seed, per_step)
        if steps < MIN_FINETUNE_STEPS:
            need = (
                (MIN_FINETUNE_STEPS * per_step + fixed_per_seed) * s.seeds
                + time.perf_counter()
                - started
            )
            raise InputError(
                f"--budget {s.budget.text} is too small for {len(trained)} arms x {s.seeds} "
                f"seeds here (a fine-tuning step takes {t_ft:.2f} s); give at least "
                f"{int(need) + 1}s or {MIN_FINETUNE_STEPS * s.seeds * (len(trained) + n_ssl)}"
                "steps, or fewer --seeds or --paradigms"
            )
        self.seed_cost = (fixed_per_seed, per_step)
        basis = "planned before training" if s.budget.seconds else "divided from the budget"
        planned = [_seed_steps(s.seed + k, steps, n_ssl > 0, basis) for k in range(s.seeds)]
        cpu = self.device.type == "cpu"
        choices = [
            f"resolution {self.resolution} px"
            + (
                " (CPU default: training runs about 107 images/s at 64 px on two cores)"
                if cpu and not s.resolution
                else ""
            ),
            f"batch {self.batch}" + (" (CPU: small batches keep the step count up)" if cpu else ""),
            f"at most {CPU_LABELED if cpu else GPU_LABELED:,} labeled and "
            f"{CPU_POOL if cpu else GPU_POOL:,} unlabeled images decoded once into memory",
            f"every arm fine-tunes {steps} steps a seed (AdamW, lr {train.FINETUNE_LR:g}, "
            "warm-up then cosine, crops and flips); each SSL arm first pretrains "
            f"{planned[0].ssl_steps} steps with {s.method} (a 1:1 ratio, a convention)",
            (
                f"steps from a measured {t_ft:.3f} s per fine-tuning step"
                + (f" and {t_ssl:.3f} s per self-supervised step" if n_ssl else "")
                + (
                    "; each later seed is re-planned from the measured time of the seeds before "
                    "it, to keep to the budget"
                    if s.seeds > 1
                    else ""
                )
                if s.budget.seconds
                else f"steps divided evenly from the budget of {s.budget.steps} steps"
            ),
        ]
        return PilotPlan(
            budget=s.budget.text,
            budget_seconds=s.budget.seconds,
            budget_steps=s.budget.steps,
            device=self.device.type,
            devices=s.devices,
            backbone=self.backbone.spec,
            resolution=self.resolution,
            batch_size=self.batch,
            method=s.method,
            arms=[*trained, "tl-linear"],
            seeds=[s.seed + k for k in range(s.seeds)],
            finetune_images=len(self.splits[0].finetune),
            eval_images=len(self.splits[0].evaluate),
            eval_source=self.eval_source,
            pool_images=len(self.splits[0].pool),
            steps=planned,
            seconds_per_finetune_step=round(t_ft, 4),
            seconds_per_ssl_step=round(t_ssl, 4),
            choices=choices,
        )

    # --- units -----------------------------------------------------------------------------

    def _knn(self, net: torch.nn.Module, sp: pdata.Split) -> float:
        rng = np.random.default_rng(sp.seed)
        fit = rng.permutation(sp.finetune)[:CURVE_IMAGES]
        test = rng.permutation(sp.evaluate)[:CURVE_IMAGES]
        x_fit = train.outputs(self.fabric, net, self.images.pixels, fit, self.eval_tf, 128)
        x_test = train.outputs(self.fabric, net, self.images.pixels, test, self.eval_tf, 128)
        knn = KNeighborsClassifier(n_neighbors=min(10, len(fit)))
        knn.fit(x_fit, self.images.labels[fit])
        return float(knn.score(x_test, self.images.labels[test]))

    def _unit(self, arm: str, sp: pdata.Split, plan: PilotPlan) -> UnitResult:
        started = time.perf_counter()
        steps = plan.for_seed(sp.seed)
        net, dim = models.trunk(self.backbone, PRETRAINED[arm], sp.seed)
        curve: list[CurvePoint] = []
        if arm in SSL_ARMS and not self.store.load_checkpoint(arm, sp.seed, net):
            module = models.ssl_module(plan.method, net, dim, sp.seed)
            views = train.views_loader(
                self.images.pixels, sp.pool, self.views_tf, plan.batch_size, sp.seed, self.workers
            )

            def measure(step: int) -> None:
                curve.append(CurvePoint(step=step, knn_accuracy=round(self._knn(net, sp), 4)))

            train.pretrain(
                self.fabric,
                module,
                views,
                steps.ssl_steps,
                self.stop,
                measure,
                tuple(steps.curve_steps),
            )
            self.store.save_checkpoint(arm, sp.seed, net)
            write_atomically(
                self.store.checkpoint_path(arm, sp.seed).with_suffix(".curve.json"),
                json.dumps([c.model_dump() for c in curve]),
            )
        elif arm in SSL_ARMS:
            saved = self.store.checkpoint_path(arm, sp.seed).with_suffix(".curve.json")
            if saved.is_file():
                curve = [CurvePoint.model_validate(c) for c in json.loads(saved.read_text())]
        model = models.classifier(net, dim, len(self.images.classes), sp.seed)
        batches = train.labeled_loader(
            self.images.pixels,
            self.images.labels,
            sp.finetune,
            self.train_tf,
            plan.batch_size,
            sp.seed,
            self.workers,
        )
        loss = train.finetune(self.fabric, model, batches, steps.finetune_steps, self.stop)
        logits = train.outputs(
            self.fabric, model, self.images.pixels, sp.evaluate, self.eval_tf, plan.batch_size * 2
        )
        return self._scored(
            arm, sp, logits.argmax(axis=1), time.perf_counter() - started, loss, curve
        )

    def _scored(self, arm, sp, predicted, seconds, loss, curve) -> UnitResult:
        truth = self.images.labels[sp.evaluate]
        accuracy, f1 = stats.scores(truth, predicted)
        return UnitResult(
            arm=arm,
            seed=sp.seed,
            accuracy=round(accuracy, 5),
            macro_f1=round(f1, 5),
            seconds=round(seconds, 2),
            final_loss=None if loss is None or not np.isfinite(loss) else round(loss, 5),
            curve=curve,
            correct=(truth == predicted).tolist(),
        )

    def _linear(self, sp: pdata.Split) -> UnitResult:
        """The free reading: frozen pretrained features and a logistic regression."""
        started = time.perf_counter()
        net, _ = models.trunk(self.backbone, True, sp.seed)
        x_fit = train.outputs(self.fabric, net, self.images.pixels, sp.finetune, self.eval_tf, 128)
        x_eval = train.outputs(self.fabric, net, self.images.pixels, sp.evaluate, self.eval_tf, 128)
        clf = LogisticRegression(max_iter=1000, tol=1e-3)
        clf.fit(x_fit, self.images.labels[sp.finetune])
        return self._scored(
            "tl-linear", sp, clf.predict(x_eval), time.perf_counter() - started, None, []
        )

    # --- the run ---------------------------------------------------------------------------

    def run(self, started: float | None = None) -> PilotResult:
        """``started``: when the command began (perf_counter), so that the budget covers the
        start-up as well."""
        started = time.perf_counter() if started is None else started
        with _Sigint(self.stop):
            self._load()
            plan_file = self.settings.out / "plan.json"
            resumed = self.settings.resume
            if resumed:
                stored = json.loads(plan_file.read_text())
                if stored.get("fingerprint") != self.fingerprint:
                    raise InputError(
                        f"--resume: the data or options differ from the pilot in "
                        f"{self.settings.out}; resume with the same ones or start a new --out"
                    )
                try:
                    plan = PilotPlan.model_validate(stored["plan"])
                except (KeyError, ValueError):
                    raise InputError(
                        f"--resume: {plan_file} was written by another version of advisor; "
                        "start a new --out"
                    ) from None
                self.say(f"resuming the pilot in {self.settings.out}")
            else:
                plan = self._plan(started)
                self._save_plan(plan)
            self.say("plan: " + "; ".join(plan.choices))
            arms = [*self.settings.order, "tl-linear"]
            units: list[UnitResult] = []
            self._stage("training the arms", len(self.splits) * len(arms), "units")
            trained = time.perf_counter()
            try:
                for k, sp in enumerate(self.splits):
                    if k and plan.budget_seconds and not resumed:
                        now = time.perf_counter()
                        left = plan.budget_seconds - (now - started) - RESERVE_SECONDS
                        plan = replan(plan, k, now - trained, left, *self.seed_cost)
                        self._save_plan(plan)
                        self.say(
                            f"seed {sp.seed}: {plan.for_seed(sp.seed).finetune_steps} steps "
                            f"per arm ({plan.for_seed(sp.seed).basis})"
                        )
                    for arm in arms:
                        unit = self.store.load_unit(arm, sp.seed)
                        if unit is None:
                            unit = (
                                self._linear(sp)
                                if arm == "tl-linear"
                                else self._unit(arm, sp, plan)
                            )
                            self.store.save_unit(unit)
                        units.append(unit)
                        if self.on_progress:
                            self.on_progress(1)
            except train.Interrupted:
                raise KeyboardInterrupt(
                    f"{len(units)} of {len(self.splits) * len(arms)} arm-seed runs are saved in "
                    f"{self.settings.out}; continue with the same command and --resume"
                ) from None
        return summarise(plan, units, time.perf_counter() - started, self._sources())

    def _save_plan(self, plan: PilotPlan) -> None:
        write_atomically(
            self.settings.out / "plan.json",
            json.dumps(
                {"fingerprint": self.fingerprint, "plan": json.loads(plan.model_dump_json())},
                indent=2,
            ),
        )

    def _sources(self) -> list[str]:
        s = self.settings
        return [str(p) for p in (s.data, *s.unlabeled, s.manifest) if p is not None]

    def analysis(self) -> Analysis:
        """The profile of the pilot's dataset (headers only), for the literature's prior."""
        profile = build_profile(self.found, self.facts, decoded=False)
        return Analysis(
            tool_version=__version__,
            seed=self.settings.seed,
            profile=profile,
            probes=None,
            recommendation=None,
        )


def steps_within(
    seconds: float, seeds: int, fixed: float, per_step: float, ratio: float = 1.0
) -> int:
    """Fine-tuning steps per arm that let ``seeds`` seeds fit in ``seconds``, when a seed costs
    ``ratio * (fixed + per_step * steps)``."""
    return int((seconds / (seeds * ratio) - fixed) / per_step)


def replan(
    plan: PilotPlan, done: int, spent: float, left: float, fixed: float, per_step: float
) -> PilotPlan:
    """The plan with new steps for the seeds after the first ``done``, which took ``spent``
    seconds: the cost model (``fixed + per_step * steps`` a seed) is scaled by how far it missed
    on them, and the ``left`` seconds are shared evenly among the seeds to go."""
    predicted = sum(fixed + per_step * x.finetune_steps for x in plan.steps[:done])
    ratio = max(spent / predicted, 1e-3)
    steps = max(
        steps_within(left, len(plan.steps) - done, fixed, per_step, ratio), MIN_FINETUNE_STEPS
    )
    basis = (
        f"re-planned after {done} seed{'s' * (done > 1)} took {spent:.0f} s against "
        f"{predicted:.0f} s planned"
    )
    with_ssl = plan.steps[0].ssl_steps > 0
    again = [_seed_steps(x.seed, steps, with_ssl, basis) for x in plan.steps[done:]]
    return plan.model_copy(update={"steps": plan.steps[:done] + again})


def _seed_steps(seed: int, steps: int, with_ssl: bool, basis: str) -> SeedSteps:
    ssl_steps = int(steps * SSL_TO_FINETUNE) if with_ssl else 0
    curve = sorted({0, ssl_steps // 2, ssl_steps}) if ssl_steps else []
    return SeedSteps(
        seed=seed, finetune_steps=steps, ssl_steps=ssl_steps, curve_steps=curve, basis=basis
    )


def summarise(
    plan: PilotPlan, units: list[UnitResult], seconds: float, sources: list[str]
) -> PilotResult:
    arms = [arm for arm in plan.arms if any(u.arm == arm for u in units)]
    summaries = []
    for arm in arms:
        mine = [u for u in units if u.arm == arm]
        accuracy = np.array([u.accuracy for u in mine])
        summaries.append(
            ArmSummary(
                arm=arm,
                seeds=len(mine),
                accuracy=round(float(accuracy.mean()), 5),
                accuracy_sd=round(float(accuracy.std(ddof=1)) if len(mine) > 1 else 0.0, 5),
                macro_f1=round(float(np.mean([u.macro_f1 for u in mine])), 5),
            )
        )
    seeds = sorted(
        {
            u.seed
            for u in units
            if all(any(v.arm == arm and v.seed == u.seed for v in units) for arm in arms)
        }
    )
    correct = {
        s: {u.arm: np.array(u.correct, dtype=float) for u in units if u.seed == s} for s in seeds
    }
    differences, best, winner, confidence = [], None, None, None
    caveats = []
    if seeds and "tl" in arms:
        draws = stats.bootstrap_means(correct, arms)
        for arm in arms:
            if arm == "tl":
                continue
            diff = (draws[arm] - draws["tl"]) * 100
            low, high = stats.interval(diff)
            means = [correct[s][arm].mean() - correct[s]["tl"].mean() for s in seeds]
            differences.append(
                PairedDifference(
                    arm=arm,
                    accuracy_points=round(float(np.mean(means)) * 100, 3),
                    low=round(low, 3),
                    high=round(high, 3),
                    level=stats.LEVEL,
                )
            )
        trained = [arm for arm in arms if arm != "tl-linear"]
        shares = stats.best_share({arm: draws[arm] for arm in trained})
        means = {arm: float(np.mean([correct[s][arm].mean() for s in seeds])) for arm in trained}
        tied = stats.leaders(means)
        if len(tied) > 1:
            caveats.append(
                f"{' and '.join(tied)} tie at {means[tied[0]]:.1%} accuracy: this evaluation set "
                "cannot tell them apart, so there is no measured best."
            )
        else:
            best = tied[0]
            confidence = round(shares[best], 3)
            clear = (best == "tl" and all(d.high < 0 for d in differences)) or any(
                d.arm == best and d.low > 0 for d in differences
            )
            if clear:
                winner = best
            else:
                caveats.append(
                    f"No arm is clearly best: the measured best ({best}) is best in "
                    f"{confidence:.0%} of bootstrap draws, but a paired interval against tl "
                    "includes 0."
                )
    improving = None
    ssl_units = [u for u in units if u.arm in SSL_ARMS and len(u.curve) >= 2]
    if ssl_units:
        gains = [u.curve[-1].knn_accuracy - u.curve[-2].knn_accuracy for u in ssl_units]
        improving = bool(np.mean(gains) > STILL_IMPROVING)
        ssl_lost = best is not None and best not in SSL_ARMS
        if improving and ssl_lost:
            caveats.append(
                "Self-supervision was still improving when its steps ran out (k-NN accuracy "
                f"+{np.mean(gains) * 100:.1f} points over the second half), so this budget cannot "
                "judge it: a longer --budget may change the winner."
            )
            if winner is not None and winner not in SSL_ARMS:
                winner = None
    if plan.budget_seconds and seconds > OVERRUN * plan.budget_seconds:
        caveats.append(
            f"The pilot took {seconds:.0f} s, {seconds / plan.budget_seconds - 1:.0%} over its "
            f"budget of {plan.budget}: the steps per seed could not shrink enough to keep to it."
        )
    if len(seeds) < len(plan.seeds):
        caveats.append(f"Only {len(seeds)} of {len(plan.seeds)} seeds finished.")
    return PilotResult(
        tool_version=__version__,
        sources=sources,
        plan=plan,
        complete=len(seeds) == len(plan.seeds),
        seconds=round(seconds, 1),
        units=units,
        arms=summaries,
        differences=differences,
        measured_best=best,
        winner=winner,
        confidence=confidence,
        ssl_still_improving=improving,
        caveats=caveats,
        recommendation=None,
    )
