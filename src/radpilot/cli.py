"""The ``radpilot`` console entry point (the app is assembled in
:mod:`radpilot.commands.main`)."""

from radpilot.commands.main import app, main, run

__all__ = ["app", "main", "run"]

if __name__ == "__main__":
    main()
