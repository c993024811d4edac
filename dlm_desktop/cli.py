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


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


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


def _render_training_event(progress, event) -> None:
    from dlm_desktop.core.training import ModelLoading, StepCompleted, describe

    if isinstance(event, ModelLoading):  # frequent heartbeats while weights load or convert: one rewriting line
        progress.bar(event.fraction, event.message)
    elif isinstance(event, StepCompleted):
        who = f"{event.adapter}: " if event.adapter else ""
        text = f"{who}step {event.step}/{event.total}  loss {event.loss:.4f}  {event.tokens_per_second:,.0f} tok/s"
        progress.bar(event.step / max(event.total, 1), text, eta_s=event.eta_s, force=event.step in (1, event.total))
    else:
        progress.message(describe(event))


def _cmd_train(args: argparse.Namespace) -> int:
    from dlm_desktop.cli_progress import ProgressLine, ctrl_c_cancels, drive
    from dlm_desktop.core.training import TrainRequest, train_document

    request = TrainRequest(
        document_path=Path(args.document), max_steps=args.max_steps, resume=args.resume, base=args.base
    )
    progress = ProgressLine()
    with ctrl_c_cancels() as stop:
        try:
            result = drive(train_document(request, should_stop=stop.is_set), lambda e: _render_training_event(progress, e))
        finally:
            progress.finish()
    if args.json:
        _print_json(result.as_json_dict())
    else:
        for name, path in result.adapters.items():
            sys.stdout.write(f"adapter {name}: {path}\n")
        if result.status == "cancelled":
            sys.stdout.write("cancelled; run `dlm-desktop train DOC --resume` to continue where it stopped\n")
        else:
            sys.stdout.write(
                f"{result.status}: {result.steps} steps, loss {result.first_loss or 0:.4f} -> "
                f"{result.final_train_loss or 0:.4f}, {result.tokens_per_second:,.0f} tokens/s, {result.duration_s:.1f} s\n"
            )
    return EXIT_OK if result.status == "ok" else EXIT_FAILURE


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

    train = sub.add_parser("train", help="fine-tune the document's adapters (and gate) on this machine")
    train.add_argument("document", help="path to a .dlm file")
    train.add_argument("--max-steps", type=_positive_int, default=None, help="stop after N optimizer steps")
    train.add_argument("--resume", action="store_true", help="continue the interrupted run (or the current adapter)")
    train.add_argument("--base", default=None, metavar="KEY|PATH", help="use another base model than the document's")
    train.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    train.set_defaults(handler=_cmd_train)

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


def _quiet_libraries() -> None:
    """Our own progress line replaces the libraries' progress bars and advisory warnings on the terminal."""
    import os
    import warnings

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # also read by transformers for its own bars
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(transformers|peft|torch)\b")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    return run_handler(args.handler, args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
