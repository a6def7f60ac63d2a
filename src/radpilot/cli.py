"""The ``radpilot`` console entry point (the app is assembled in
:mod:`radpilot.commands.main`)."""

from typing import Any

from radpilot.commands.main import main, run

__all__ = ["main", "run"]  # and `app`, built on first use (__getattr__)


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole typer app, assembled on first use (radpilot.commands.main)
        from radpilot.commands.main import full_app

        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
