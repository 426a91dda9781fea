"""Run a pilot: read and decode the data, plan (or take the stored plan when resuming), train
every arm of every seed, re-plan later seeds to keep to a time budget, and summarise.

What a pilot keeps on disk, and how it resumes, is in ``store``; how steps are planned in
``plan``; what one arm of one seed does in ``units``; the statistics in ``stats``.
"""

from __future__ import annotations

import time

import torch

from advisor import __version__
from advisor.data.profile import build_profile
from advisor.data.scan import data_folders, discover, inspect_all
from advisor.errors import InputError
from advisor.pilot import data as pdata
from advisor.pilot import models, train
from advisor.pilot import plan as planning
from advisor.pilot.interrupt import Interrupted, PilotInterrupted, SigintGuard, StopFlag
from advisor.pilot.settings import PilotSettings
from advisor.pilot.stats import summarise
from advisor.pilot.store import Store, fingerprint
from advisor.pilot.units import Bench, linear_unit, train_unit
from advisor.probing.device import resolve_device
from advisor.probing.sources import architecture_name, load_backbone
from advisor.probing.throughput import measure_throughput, throughput_sizes
from advisor.processes import is_primary
from advisor.progress import SILENT, Progress
from advisor.schema.analysis import Analysis
from advisor.schema.cost import Throughput
from advisor.schema.pilot import PilotPlan, PilotResult, UnitResult
from advisor.schema.vocabulary import LINEAR_READING, SELF_TRAINING, SSL_ARMS
from advisor.schema.vocabulary import PILOT_CPU_BATCH as CPU_BATCH
from advisor.schema.vocabulary import PILOT_CPU_RESOLUTION as CPU_RESOLUTION

CPU_LABELED = 1500
CPU_POOL = 3000
GPU_BATCH = 128
GPU_LABELED = 20_000
GPU_POOL = 100_000


class Pilot:
    """One process of a pilot. With more than one (``--devices``, ``--num-nodes``) every
    process runs all of it on its share of each batch; the first alone writes, reports progress
    and decides what depends on the clock (the plan, the re-planning), which the others take
    from it."""

    def __init__(self, settings: PilotSettings, progress: Progress = SILENT) -> None:
        self.settings = settings
        self.primary = is_primary()
        self.progress = progress if self.primary else SILENT
        self.timed: Throughput | None = None  # the network timed, once run has loaded it

        self.stop = StopFlag()
        self.store = Store(settings.out, writes=self.primary)

    def _load(self) -> None:
        s = self.settings
        found = discover(s.data, s.unlabeled, s.manifest)
        self.store.prepare(s.resume, data_folders(found, s.data, s.unlabeled))
        self.progress.stage("reading files", len(found.entries), "files")
        facts = inspect_all([e.path for e in found.entries], decode=False)
        self.found, self.facts = found, facts
        usable = [i for i, f in enumerate(facts) if f.usable]
        if not any(found.entries[i].label is not None for i in usable):
            raise InputError("the pilot needs labeled images; none were found")
        device = resolve_device(s.device)
        cpu = device.type == "cpu"
        batch = CPU_BATCH if cpu else GPU_BATCH
        backbone = load_backbone(s.backbone, s.resolution or (CPU_RESOLUTION if cpu else None))
        resolution = backbone.preprocessing.resolution
        labels = [found.entries[i].label for i in usable]
        splits = [found.entries[i].split for i in usable]
        labeled_limit, pool_limit = (CPU_LABELED, CPU_POOL) if cpu else (GPU_LABELED, GPU_POOL)
        picked = [
            usable[j] for j in pdata.choose(labels, splits, labeled_limit, pool_limit, s.seed)
        ]
        eval_split = next((x for x in pdata.EVAL_SPLITS if x in set(splits)), None)
        self.progress.stage(f"decoding at {resolution} px", len(picked), "images")
        images = pdata.decode(
            [found.entries[i].path for i in picked],
            [found.entries[i].label for i in picked],
            [eval_split is not None and found.entries[i].split == eval_split for i in picked],
            resolution,
            self.progress.advance,
        )
        pdata.check_splittable(images)
        eval_source = (
            f"the dataset's own {eval_split} split"
            if images.is_eval.any()
            else f"{pdata.EVAL_FRACTION:.0%} of the labeled images, held out per seed"
        )
        self.splits = [pdata.split(images, s.seed + k) for k in range(s.seeds)]
        notes = self._self_training_needs_unlabeled()
        if any(arm in SSL_ARMS for arm in s.order):
            smallest = min(len(sp.pool) for sp in self.splits)
            if smallest < batch:
                raise InputError(
                    f"self-supervision needs at least {batch} images in its pool (the "
                    f"unlabeled images plus the fine-tuning ones); there are {smallest}"
                )
        self.fingerprint = fingerprint(
            [facts[i].digest for i in picked], [found.entries[i].label for i in picked], s
        )
        mean, std = backbone.preprocessing.mean, backbone.preprocessing.std
        self.bench = Bench(
            images=images,
            backbone=backbone,
            fabric=train.make_fabric(device, s.devices, s.num_nodes),
            method=s.method,
            batch=batch,
            workers=1 if cpu else min(8, torch.get_num_threads()),
            train_tf=train.finetune_transform(resolution, mean, std),
            eval_tf=train.eval_transform(mean, std),
            views_tf=models.views(s.method, resolution, mean, std),
            strong_tf=train.finetune_transform(resolution, mean, std, strong=True),
            stop=self.stop,
            store=self.store,
            progress=self.progress,
            teaches=SELF_TRAINING in s.order,
        )
        fabric = self.bench.fabric
        # the launcher's numbering decided who prepared the folder; Fabric's rank decides the rest
        self.primary = fabric.global_rank == 0
        self.store.writes = self.primary
        self.progress = self.progress if self.primary else SILENT
        self.bench.progress = self.progress
        if fabric.world_size > 1:
            self.bench.agree = lambda value: fabric.broadcast(value, src=0)
            self.stop.agree = lambda flag: bool(
                fabric.all_reduce(torch.tensor(float(flag), device=fabric.device), reduce_op="sum")
            )
        self.layout = planning.Layout(
            device=device.type,
            devices=fabric.world_size,
            resolution=resolution,
            resolution_given=s.resolution is not None,
            labeled_limit=labeled_limit,
            pool_limit=pool_limit,
            eval_source=eval_source,
            split=self.splits[0],
            notes=tuple(notes),
        )

    def _self_training_needs_unlabeled(self) -> list[str]:
        """``tl+st`` with no unlabeled image for its teacher to label: refused when it was
        named, left out of the default list with a note for the plan (the fingerprint, made
        afterwards, sees the same arms on resuming)."""
        s = self.settings
        if SELF_TRAINING not in s.order or all(len(sp.unlabeled) for sp in self.splits):
            return []
        why = (
            "needs unlabeled images for its teacher to pseudo-label (images under unlabeled/ "
            "or loose in the data folder, `unlabeled` folders, or a manifest's empty labels); "
            "there are none"
        )
        if s.chosen:
            raise InputError(f"tl+st {why}", "paradigms")
        s.order.remove(SELF_TRAINING)
        return [f"tl+st left out: transfer then self-training {why}"]

    def _plan(self, started: float) -> PilotPlan:
        """Calibrate and plan. A calibration that would cut the plan (fewer seeds or arms than
        asked) or refuse it is measured again first, and the faster of the two readings of each
        cost kept: a machine busy for a moment should not cost the user a seed. With more than
        one process, the first one's readings and shape are every process's."""
        s = self.settings
        if not s.budget.seconds:
            cost = dict.fromkeys(planning.COSTS, 0.0)
            return self._planned(cost, self._shape(cost, started), None)
        cost = self.bench.agree(planning.calibrate(self.bench, self.splits[0], s.order))
        fits = self._shape(cost, started)
        remeasured = None
        if isinstance(fits, str) or fits.cut:
            self.progress.note("the calibration would cut the plan: measuring it again")
            again = self.bench.agree(planning.calibrate(self.bench, self.splits[0], s.order))
            first = cost["ft"]
            cost = {k: min(cost[k], again[k]) for k in planning.COSTS}
            fits = self._shape(cost, started)
            outcome = "still cut it" if isinstance(fits, str) or fits.cut else "fitted it whole"
            remeasured = (
                f"the calibration was measured twice, as the first reading (a fine-tuning step "
                f"{first:.3f} s) would have cut the plan; the second ({again['ft']:.3f} s) "
                f"{outcome}, keeping the faster reading of each cost"
            )
        return self._planned(cost, fits, remeasured)

    def _shape(self, cost: dict[str, float], started: float) -> planning.Shape | str:
        """What the budget left holds (``planning.shape``), or why it holds nothing: the first
        process's answer, which every process takes (their clocks started apart)."""
        s = self.settings
        left = (s.budget.seconds or 0.0) - (time.perf_counter() - started)
        try:
            fits: planning.Shape | str = planning.shape(
                s.budget, list(s.order), s.seeds, cost, left - planning.RESERVE_SECONDS
            )
        except InputError as refused:
            fits = refused.message
        return self.bench.agree(fits)

    def _planned(
        self, cost: dict[str, float], fits: planning.Shape | str, remeasured: str | None
    ) -> PilotPlan:
        if isinstance(fits, str):
            raise InputError(fits, "budget")
        plan = planning.make_plan(self.settings, self.bench, self.layout, cost, fits, remeasured)
        self.seed_cost = planning.seed_cost(cost, planning.trained_arms(plan))
        return plan

    def run(self, started: float | None = None) -> PilotResult:
        """``started``: when the budget's clock started (perf_counter), so that the budget
        covers the start-up as well."""
        started = time.perf_counter() if started is None else started
        with SigintGuard(self.stop):
            self._load()
            self.timed = self._time_network()  # before the plan, inside the budget's clock
            resumed = self.settings.resume
            if resumed:
                plan = self.store.load_plan(self.fingerprint)
                self.progress.note(f"resuming the pilot in {self.settings.out}")
            else:
                plan = self._plan(started)
                self.store.save_plan(plan, self.fingerprint)
            self.bench.batch = plan.batch_size
            self.bench.teaches = SELF_TRAINING in plan.arms
            self.progress.note("plan: " + "; ".join(plan.choices))
            arms = plan.arms
            units: list[UnitResult] = []
            try:
                last: tuple[int, float] | None = None
                k = 0
                while k < len(plan.seeds):
                    if k and plan.budget_seconds and not resumed:
                        left, ratio = self._speed(started, last)
                        again = planning.replan(plan, k, left, *self.seed_cost, ratio)
                        plan = self._adopt(plan, again)
                        if k >= len(plan.seeds):
                            break
                    seed = plan.seeds[k]
                    sp = self._split(seed)
                    seed_started = time.perf_counter()
                    for arm in arms:
                        unit = self.store.load_unit(arm, seed)
                        if unit is None:
                            unit = (
                                linear_unit(self.bench, sp)
                                if arm == LINEAR_READING
                                else train_unit(self.bench, arm, sp, plan.for_seed(seed))
                            )
                            self.store.save_unit(unit)
                        units.append(unit)
                    last = (plan.for_seed(seed).finetune_steps, time.perf_counter() - seed_started)
                    k += 1
                    if k == len(plan.seeds) and plan.budget_seconds and not resumed:
                        left, ratio = self._speed(started, last)
                        asked = self.settings.seeds
                        again = planning.more_seeds(plan, asked, left, *self.seed_cost, ratio)
                        plan = self._adopt(plan, again)
            except Interrupted:
                total = len(plan.seeds) * len(arms)
                raise PilotInterrupted(len(units), total, self.settings.out) from None
        seconds = time.perf_counter() - started
        return summarise(plan, units, seconds, self.settings.sources())

    def _split(self, seed: int) -> pdata.Split:
        """The seed's split: made at loading for the seeds asked for, on demand for the seeds a
        budget added."""
        for sp in self.splits:
            if sp.seed == seed:
                return sp
        self.splits.append(pdata.split(self.bench.images, seed))
        return self.splits[-1]

    def _speed(self, started: float, last: tuple[int, float] | None) -> tuple[float, float]:
        """Between seeds: the seconds left, and how many times the cost model's prediction the
        last seed took (``last``: its steps and seconds). A seed's whole time is the measure,
        so that whatever the model left out or the machine was doing meanwhile counts."""
        fixed, per_step = self.seed_cost
        ratio = 1.0
        if last is not None and fixed + per_step * last[0] > 0:
            ratio = last[1] / (fixed + per_step * last[0])
        budget = self.settings.budget.seconds or 0.0
        return budget - (time.perf_counter() - started) - planning.RESERVE_SECONDS, ratio

    def _adopt(self, plan: PilotPlan, again: PilotPlan) -> PilotPlan:
        """A changed plan is stored (a resumed run follows it) and said; every process takes
        the first one's."""
        again = self.bench.agree(again)
        if again != plan:
            self.store.save_plan(again, self.fingerprint)
            self.progress.note(again.choices[-1])
        return again

    def _time_network(self) -> Throughput | None:
        """The pilot's network timed on its device at the pilot's and the full-scale input
        sizes, for the cost forecast (seconds on a CPU, a blink on a GPU)."""
        spec = self.bench.backbone.spec
        device = self.bench.fabric.device
        sizes = len(throughput_sizes(device))
        self.progress.stage("timing the network for the cost forecast", sizes, "sizes")
        return measure_throughput(
            self.bench.backbone, device, architecture_name(spec), self.progress.advance
        )

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
