"""One progress display for the whole batch (done, running, cached, failed), and the final
summary table. No per-cell bars from parallel workers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


class BatchDisplay:
    def __init__(self, enabled: bool = True) -> None:
        self.console = Console(stderr=True)
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]runs"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            disable=not enabled,
        )
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def update(self, outcomes: Sequence) -> None:
        counts = Counter(o.status for o in outcomes)
        done = counts["ok"] + counts["failed"] + counts["cached"] + counts["rendered"]
        text = (
            f"done {counts['ok']} · running {counts['running']} · cached {counts['cached']}"
            f" · re-rendered {counts['rendered']} · failed {counts['failed']}"
        )
        if self.task is None:
            self.task = self.progress.add_task(text, total=len(outcomes))
        self.progress.update(self.task, completed=done, description=text)

    def summary(self, outcomes: Sequence, workbook) -> None:
        from .execute import summary_rows

        table = Table("run", "status", "seconds", "outputs", "error", title="Summary")
        style = {"ok": "green", "cached": "cyan", "rendered": "cyan", "failed": "bold red"}
        for row in summary_rows(outcomes, workbook):
            table.add_row(
                row["run"],
                f"[{style.get(row['status'], '')}]{row['status']}",
                f"{row['seconds']:.1f}",
                row["outputs"],
                row["error"],
            )
        console = Console()
        console.print(table)
        for row in summary_rows(outcomes, workbook):
            if row["status"] == "failed":  # in full: the table may truncate it
                console.print(
                    f"FAILED {row['run']}: {row['error']} (kept in {row['outputs']})",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
