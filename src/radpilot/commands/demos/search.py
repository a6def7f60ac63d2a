"""The search step of `radpilot demo`."""

from __future__ import annotations

from collections.abc import Iterator

from radpilot.commands.demo import Command, Context, Note


def run(ctx: Context) -> Iterator[Command | Note]:
    # Interim: the step still runs its library loop; it becomes CLI commands next.
    from radpilot.search.demo import run as library_step

    library_step(ctx.out, ctx.console)
    yield from ()
