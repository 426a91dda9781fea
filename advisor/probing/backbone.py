"""A network ready for the probes: the module, its preprocessing, where its penultimate
features and source logits come from, and which layers carry the source's batch-norm statistics."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
import torchvision
from torch import nn

from advisor.errors import InputError, one_line
from advisor.probing.preprocessing import Preprocessing


@dataclass
class Backbone:
    """A network ready for the probes: eval mode, on the CPU, with its preprocessing."""

    spec: str
    description: str
    model: nn.Module
    preprocessing: Preprocessing
    pretrained: bool
    weights_id: str
    source_classes: list[str] | None

    def features_and_logits(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Penultimate features (N, D) and source-head logits (N, C) from one forward pass.

        The features are whatever enters the final linear classifier, caught with a hook, so
        that any architecture works without knowing its pooling and pre-logits layers. Logits
        are None for an untrained network: a random head says nothing about a source.
        """
        head = classifier_head(self.model)
        with torch.inference_mode():
            if head is None:
                return self.model(batch), None
            seen: dict[str, torch.Tensor] = {}

            def catch(_module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor):
                seen["features"], seen["logits"] = inputs[0], output

            handle = head.register_forward_hook(catch)
            try:
                output = self.model(batch)
            finally:
                handle.remove()
        if output is not seen.get("logits") or output.ndim != 2:
            raise InputError(
                f"{self.spec}: the network's output is not its last linear layer's, so its "
                "penultimate features cannot be located; choose another architecture"
            )
        return seen["features"], output if self.pretrained else None

    def batchnorm_layers(self) -> list[tuple[str, nn.BatchNorm2d]]:
        """Layers whose running statistics were accumulated on the source data.

        Empty for an untrained network, whose running statistics are the initial 0 and 1.
        Subclasses count too: timm's BatchNormAct2d applies its activation inside the module,
        so the statistics to compare are those of the module's input, not its output.
        """
        if not self.pretrained:
            return []
        return [
            (name, module)
            for name, module in self.model.named_modules()
            if isinstance(module, nn.BatchNorm2d) and module.running_mean is not None
        ]


def ready(backbone: Backbone) -> Backbone:
    """Eval mode, and one tiny forward pass, so that an architecture that cannot run at the
    chosen resolution, or whose features cannot be located, fails here with a clear message
    rather than in the middle of feature extraction."""
    backbone.model.eval()
    side = backbone.preprocessing.resolution
    try:
        backbone.features_and_logits(torch.zeros(1, 3, side, side))
    except (RuntimeError, AssertionError, ValueError) as exc:
        raise InputError(
            f"{backbone.spec} cannot run on {side}x{side} px input: {one_line(exc)}"
        ) from None
    return backbone


def classifier_head(model: nn.Module) -> nn.Linear | None:
    """The source classification head, or None for a timm model built without one."""
    getter = getattr(model, "get_classifier", None)
    if callable(getter):
        head = getter()
        if isinstance(head, nn.Identity):
            return None
    else:
        head = next((m for m in reversed(list(model.modules())) if isinstance(m, nn.Linear)), None)
    if not isinstance(head, nn.Linear):
        raise InputError(
            f"{type(model).__name__} has no single linear classifier to take features from; "
            "choose another architecture"
        )
    return head


def is_imagenet_head(head: nn.Linear | None) -> bool:
    return head is not None and head.out_features == 1000


@cache
def _imagenet_class_names() -> tuple[str, ...]:
    # torchvision ships the ImageNet-1k category names with its weights metadata: offline.
    return tuple(torchvision.models.EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_classes() -> list[str]:
    return list(_imagenet_class_names())
