"""`dlm-desktop`: the command line over the same core the window uses.

Exit codes: 0 ok, 1 failure, 2 bad input (one line on stderr: `path:line[:col]: message (fix: ...)`).
With no subcommand the window opens (a path argument opens that document).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from dlm_desktop import __version__
from dlm_desktop.core.errors import DlmDesktopError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def _print_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, sort_keys=False) + "\n")


def _cmd_inspect(args: argparse.Namespace) -> int:
    from dlm_desktop.core.document.pipeline import load_document
    from dlm_desktop.cli_render import render_inspect_text

    report = load_document(Path(args.document))
    if args.json:
        _print_json(report.to_json_dict())
    else:
        sys.stdout.write(render_inspect_text(report))
    return EXIT_OK


def _cmd_doctor(args: argparse.Namespace) -> int:
    from dlm_desktop.core.runtime import RuntimeSetupError, build_doctor_report, render_doctor_text

    try:
        report = build_doctor_report()
    except RuntimeSetupError as exc:  # an override naming a backend this machine lacks is bad input
        sys.stderr.write(exc.one_line() + "\n")
        return EXIT_BAD_INPUT
    if args.json:
        _print_json(report.as_json_dict())
    else:
        sys.stdout.write(render_doctor_text(report))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlm-desktop",
        description="Fine-tune a small local language model on a .dlm document. "
        "With no command, the window opens (with DOCUMENT if given).",
    )
    parser.add_argument("--version", action="version", version=f"dlm-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    inspect = sub.add_parser("inspect", help="show a document's settings, sections, rows and training mix")
    inspect.add_argument("document", help="path to a .dlm file")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(handler=_cmd_inspect)

    doctor = sub.add_parser("doctor", help="show the compute runtime picked on this machine and why")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(handler=_cmd_doctor)
    return parser


def run_handler(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand, mapping typed errors to exit codes and one-line messages."""
    from dlm_desktop.core.document.errors import DocumentError

    try:
        return handler(args)
    except DocumentError as exc:
        sys.stderr.write(exc.one_line().replace("\n", " ") + "\n")
        return EXIT_BAD_INPUT
    except DlmDesktopError as exc:
        sys.stderr.write(exc.one_line().replace("\n", " ") + "\n")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        sys.stderr.write("cancelled\n")
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    return run_handler(args.handler, args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
