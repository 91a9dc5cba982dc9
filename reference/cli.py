"""The ``adcheck`` command."""
from __future__ import annotations

import argparse
import sys

from . import __version__

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or bad input: one line for the user, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adcheck", description="Automatic and symbolic differentiation side by side.")
    parser.add_argument("--version", action="version", version=f"adcheck {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse exits 2 on bad usage, 0 on --help/--version
        return int(stop.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        return args.run(args)
    except UsageError as err:
        print(f"adcheck: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("adcheck: interrupted", file=sys.stderr)
        return 130
