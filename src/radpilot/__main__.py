"""``python -m radpilot``: the CLI, also as a file for ``spark-submit`` (which runs a script,
not a console entry point): ``spark-submit --master yarn "$(python -c 'import
radpilot.__main__ as m; print(m.__file__)')" label IN -o OUT --engine spark``."""

from radpilot.cli import main

if __name__ == "__main__":
    main()
