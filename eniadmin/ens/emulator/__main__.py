"""python -m eniadmin.ens.emulator --port 8765: run the emulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import sys

from eniadmin.ens.emulator.server import add_arguments, options_from_arguments, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m eniadmin.ens.emulator",
        description="An emulator of the Alibaba Cloud ENS OpenAPI (2017-11-10).",
    )
    add_arguments(parser)
    arguments = parser.parse_args(argv)
    try:
        options = options_from_arguments(vars(arguments))
    except ValueError as error:
        parser.error(str(error))
    try:
        serve(options, announce=lambda line: print(line, flush=True))
    except OSError as error:
        parser.exit(1, f"Cannot serve on {options.host}:{options.port}: {error}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
