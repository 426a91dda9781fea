"""What ``advisor demo`` wrote, and what to run next."""

from __future__ import annotations

from rich.console import Console

from advisor.schema.demo import DemoDataset


def render_demo(console: Console, demo: DemoDataset) -> None:
    """Say what the demo wrote and what to run next."""
    per_split = ", ".join(f"{sum(c.values()):,} labeled in {s}" for s, c in demo.labeled.items())
    console.print(
        f"Wrote the [bold]{demo.dataset}[/] demo to [bold]{demo.out}[/]: "
        f"{demo.images:,} images ({per_split}, {demo.unlabeled:,} unlabeled)."
    )
    for planted in demo.planted:
        console.print(f"  planted {planted}")
    console.print(f"Next: [bold]advisor analyze {demo.out}[/]")
