"""The ``genevec`` command line: results on stdout, diagnostics on stderr.

A user error prints one line starting with ``genevec: error:`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

from ._version import __version__

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genevec",
        description="Learn gene embeddings (GloVe) from an RNA-seq count matrix and query them.",
    )
    parser.add_argument("--version", action="version", version=f"genevec {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
