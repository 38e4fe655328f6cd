"""The command line's shared parts: the typer app, error reporting, the progress bar, printing.

Every command module registers its commands on :data:`app` with :func:`_command`, the one
place the command line turns a :class:`~corridor.errors.CorridorError` into one line and exit 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from rich.progress import Progress, TaskID

    from corridor.metrics import Results

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from corridor.cli.help import PlainHelpCommand, PlainHelpGroup
from corridor.errors import CorridorError

app = typer.Typer(
    cls=PlainHelpGroup,
    add_completion=False,
    no_args_is_help=True,
    help="Simulate migration through the Central America - Mexico - US corridor.",
)
err = Console(stderr=True)
out = Console()


def _version(value: bool) -> None:
    if value:
        from corridor._version import __version__

        out.print(f"corridor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Simulate migration through the Central America - Mexico - US corridor."""


def _fail(exc: Exception) -> typer.Exit:
    # soft_wrap: one line stays one line however narrow the terminal (or a log file).
    err.print(
        f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True, emoji=False
    )
    return typer.Exit(code=2)


_Command = TypeVar("_Command", bound=Callable[..., None])


def _command(group: typer.Typer, name: str | None = None) -> Callable[[_Command], _Command]:
    """Register a command that reports any :class:`CorridorError` as one line and exit 2.

    This is the one place the command line catches corridor's errors: each command calls the
    API and lets them rise.
    """

    def register(command: _Command) -> _Command:
        @functools.wraps(command)
        def reporting(*args: Any, **kwargs: Any) -> None:
            try:
                command(*args, **kwargs)
            except CorridorError as exc:
                raise _fail(exc) from None

        group.command(name, cls=PlainHelpCommand)(reporting)
        return command

    return register


class Bar:
    """The command line's one progress renderer: a rich bar on stderr.

    It implements :class:`corridor.runner.progress.Progress`, the protocol through which the
    library reports progress (the library draws nothing). Each ``start`` shows a new bar
    (transient: gone once finished), on a terminal only. With ``announce``, the description is
    first printed as a line of its own, and the bar is labelled with the part before its first
    colon.
    """

    def __init__(self, unit: str = "runs", *, enabled: bool = True, announce: bool = False) -> None:
        self.unit = unit
        self.enabled = enabled
        self.announce = announce
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def start(self, description: str, total: int, done: int = 0) -> None:
        """Show a bar of ``total`` steps, ``done`` of them done."""
        self.finish()
        if not self.enabled:
            return
        label = description
        if self.announce:
            err.print(description, highlight=False, markup=False, soft_wrap=True)
            label = description.partition(":")[0]
        if not err.is_terminal:  # a pipe or a log: a transient bar would show nothing
            return
        # rich's bars and tables load when drawn: commands that draw none start faster.
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(self.unit),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self._task = self._bar.add_task(escape(label), total=total, completed=done)
        self._bar.start()

    def advance(self, n: int = 1) -> None:
        """``n`` more steps done."""
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, n)

    def finish(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def print_summary(results: Results, console: Console) -> None:
    """Print the run's headline figures as a table."""
    from rich.table import Table

    s = results.summary()
    span = f"{results.dates[0]:%Y-%m-%d} to {results.dates[-1]:%Y-%m-%d}"
    table = Table(title=f"{results.info.get('scenario', '')}: {span}")
    table.add_column("flow (persons, whole horizon)")
    table.add_column("total", justify="right")
    notes = {  # flows that count events, not people: say so beside the number
        "arrivals": "arrivals (re-entries counted again)",
        "interdictions": "interdictions (a person caught twice counts twice)",
    }
    for _, row in s[s.kind == "flow"].iterrows():
        table.add_row(notes.get(str(row.metric), str(row.metric)), f"{row.total:,.0f}")
    console.print(table)
    stocks = Table(title="stocks (persons)")
    stocks.add_column("stock")
    stocks.add_column("end", justify="right")
    stocks.add_column("peak", justify="right")
    for _, row in s[s.kind == "stock"].iterrows():
        stocks.add_row(str(row.metric), f"{row.end:,.0f}", f"{row.peak:,.0f}")
    console.print(stocks)
    ident = results.identity_check()
    info = results.info
    console.print(
        f"identity present = arrivals - exits: [bold]{'holds' if ident['holds'] else 'BROKEN'}[/] "
        f"over {ident['days_checked']} days; {info['agents']:,} agents x "
        f"{info['scale_persons_per_agent']:.3g} persons; {info['wall_seconds']:.1f} s wall, "
        f"{info['agent_steps_per_second']:,.0f} agent-steps/s"
    )


def warn(text: str) -> None:
    """Print a warning line on standard error."""
    err.print(f"[bold yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True, emoji=False)


def print_outcomes(outcomes: pd.DataFrame, title: str, console: Console) -> None:
    """Print main outcomes with their interval across runs (``EnsembleResult.main_outcomes()``)."""
    from rich.table import Table

    label = str(outcomes["interval"].iloc[0]) if len(outcomes) else ""
    table = Table(title=title)
    for name, justify in (("outcome", "left"), ("measure", "left"), ("median", "right"), (label, "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in outcomes.itertuples():
        table.add_row(str(r.outcome), str(r.measure), f"{r.median:,.0f}", f"{r.low:,.0f} to {r.high:,.0f}")
    console.print(table)


def say(text: str) -> None:
    """Print plain text (tables too wide for rich's) to standard output, unwrapped."""
    out.print(text, width=max(out.width, 200), soft_wrap=True, highlight=False, markup=False)


def print_frame(frame: pd.DataFrame, title: str) -> None:
    """Print a numeric table, outcomes as rows (too wide for a rich table)."""
    say(title)
    say(frame.T.to_string(float_format=lambda v: f"{v:,.0f}"))


def main() -> None:
    """Entry point of the ``corridor`` script."""
    try:
        app()
    except OSError as exc:  # a file that cannot be read or written (permissions, disk full)
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except MemoryError:
        err.print(
            "[bold red]error:[/] out of memory; use fewer --agents or a shorter horizon", highlight=False
        )
        raise SystemExit(2) from None
