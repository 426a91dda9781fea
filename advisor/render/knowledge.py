"""The knowledge base in the terminal: the rules and studies, or one item with its results."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from advisor.schema.knowledge import ResultRow, Rule, Study


def render_knowledge_list(console: Console, rules: list[Rule], studies: list[Study]) -> None:
    table = Table(title="Rules", show_lines=False)
    table.add_column("id", no_wrap=True)
    table.add_column("favours", no_wrap=True)
    table.add_column("over", no_wrap=True)
    table.add_column("★", no_wrap=True)
    table.add_column("cites")
    for rule in rules:
        table.add_row(
            rule.id,
            ", ".join(rule.favours),
            ", ".join(rule.over),
            "★" * rule.strength + (" (S)" if rule.secondary else ""),
            ", ".join(c.study for c in rule.cites),
        )
    console.print(table)
    studies_table = Table(title="Studies")
    studies_table.add_column("id", no_wrap=True)
    studies_table.add_column("year", no_wrap=True)
    studies_table.add_column("title")
    studies_table.add_column("venue")
    for study in studies:
        studies_table.add_row(study.id, str(study.year or "?"), study.title, study.venue or "?")
    console.print(studies_table)


def render_knowledge_item(
    console: Console, item: Rule | Study | ResultRow, rows: list[ResultRow]
) -> None:
    """A rule with the result rows behind it, a study with its rows, or one result row."""
    fields = Table.grid(padding=(0, 2))
    for key, value in item.model_dump(mode="json").items():
        if key in ("rows", "cites"):
            continue
        fields.add_row(Text(key, style="bold"), Text(str(value)))
    if isinstance(item, Rule):
        fields.add_row(
            Text("cites", style="bold"), "; ".join(f"{c.study}, {c.where}" for c in item.cites)
        )
    parts: list = [fields]
    if rows:
        table = Table(title="Results behind it")
        for column in ("id", "target", "arm a", "arm b", "metric", "a", "b", "gap", "evidence"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row.id,
                row.target,
                row.arm_a,
                row.arm_b,
                row.metric,
                "NR" if row.value_a is None else f"{row.value_a:g}",
                "NR" if row.value_b is None else f"{row.value_b:g}",
                f"{row.gap:+g}",
                row.evidence,
            )
        parts.append(table)
    console.print(Panel(Group(*parts), title=item.id))
