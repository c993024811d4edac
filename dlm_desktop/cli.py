"""`dlm-desktop`: the command line over the same core the window uses.

Exit codes: 0 ok, 1 failure, 2 bad input (one line on stderr: `path:line[:col]: message (fix: ...)`).
With no subcommand the window opens (a path argument opens that document).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from dlm_desktop import __version__
from dlm_desktop.cli_commands import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    cmd_demo,
    cmd_doctor,
    cmd_export,
    cmd_inspect,
    cmd_probe,
    cmd_prompt,
    cmd_train,
    parse_mix,
    positive_int,
)
from dlm_desktop.core.errors import DlmDesktopError


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
    inspect.set_defaults(handler=cmd_inspect)

    train = sub.add_parser("train", help="fine-tune the document's adapters (and gate) on this machine")
    train.add_argument("document", help="path to a .dlm file")
    train.add_argument("--max-steps", type=positive_int, default=None, help="stop after N optimizer steps")
    train.add_argument("--resume", action="store_true", help="continue the interrupted run (or the current adapter)")
    train.add_argument("--base", default=None, metavar="KEY|PATH", help="use another base model than the document's")
    train.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    train.set_defaults(handler=cmd_train)

    export = sub.add_parser("export", help="export to GGUF + an Ollama Modelfile, checked against the in-app model")
    export.add_argument("document", help="path to a .dlm file")
    export.add_argument("--quant", choices=["F16", "Q8_0", "Q4_K_M", "Q5_K_M", "Q6_K"], default=None)
    export.add_argument("--merged", action="store_true", help="merge the adapter into the base weights")
    which = export.add_mutually_exclusive_group()
    which.add_argument("--mix", type=parse_mix, default=None, metavar="SPEC", help="manual mix, e.g. a:0.7,b:0.3")
    which.add_argument("--adapter", default=None, metavar="NAME", help="export one named adapter")
    export.add_argument("--name", default=None, help="the Ollama model name (default dlm-<id>:vNNNN)")
    export.add_argument("--out", type=Path, default=None, metavar="DIR", help="default: beside the document")
    export.add_argument("--no-ollama", action="store_true", help="do not run `ollama create`")
    export.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    export.set_defaults(handler=cmd_export)

    prompt = sub.add_parser("prompt", help="ask the fine-tuned model (and the base, side by side)")
    prompt.add_argument("document", help="path to a .dlm file")
    prompt.add_argument("text", help="the question or instruction")
    prompt.add_argument("--side-by-side", action="store_true", help="also answer with the base model (one batch)")
    prompt.add_argument("--gate", choices=["auto", "off"], default="auto", help="off: uniform mix of the adapters")
    prompt.add_argument("--adapter", default=None, metavar="NAME", help="use one named adapter")
    prompt.add_argument("--mix", type=parse_mix, default=None, metavar="a:0.7,b:0.3",
                        help="a fixed mix of the adapters instead of the gate (e.g. the mix an export freezes)")
    prompt.add_argument("--lambda", dest="lambda_", type=float, default=1.0, metavar="X", help="adapter strength")
    prompt.add_argument("--max-tokens", type=positive_int, default=256)
    prompt.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    prompt.add_argument("--json", action="store_true", help="print one JSON object")
    prompt.set_defaults(handler=cmd_prompt)

    probe = sub.add_parser("probe", help='"did it learn?": divergence vs null adapters, per section, strength curve')
    probe.add_argument("document", help="path to a .dlm file")
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    probe.set_defaults(handler=cmd_probe)

    demo = sub.add_parser("demo", help="the whole pipeline on the bundled example, in the terminal")
    demo.add_argument("--max-steps", type=positive_int, default=30, help="training steps (default 30)")
    demo.add_argument("--ollama", action="store_true", help="also run `ollama create` when Ollama is installed")
    demo.set_defaults(handler=cmd_demo)

    doctor = sub.add_parser("doctor", help="show the compute runtime picked on this machine and why")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(handler=cmd_doctor)
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
        return EXIT_BAD_INPUT if exc.bad_input else EXIT_FAILURE
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


def _display_available() -> bool:
    """False on a Linux machine without X11/Wayland (and no explicit Qt platform): there is no window to show."""
    import os

    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def _run_window(argv: list[str]) -> int:
    """`dlm-desktop [DOCUMENT] [--self-test [--screenshots DIR]]`: the desktop window."""
    parser = argparse.ArgumentParser(prog="dlm-desktop", description="Open the DLM Desktop window.")
    parser.add_argument("document", nargs="?", help="a .dlm file to open (default: the last one, or the example)")
    parser.add_argument("--self-test", action="store_true", help="open offscreen, render every pane, exit 0")
    parser.add_argument("--screenshots", metavar="DIR", help="with --self-test: save a PNG of each pane here")
    args = parser.parse_args(argv)
    if not args.self_test and not _display_available():
        sys.stderr.write("no display found: running the same pipeline in the terminal (`dlm-desktop demo`)\n")
        return run_handler(cmd_demo, build_parser().parse_args(["demo"]))
    from dlm_desktop.gui.app import run_app

    return run_app(args.document, self_test=args.self_test, screenshots_dir=args.screenshots)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_libraries()
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # noqa: SLF001 - argparse keeps them there
    if not argv or (argv[0] not in commands and argv[0] not in ("-h", "--help", "--version")):
        return _run_window(argv)
    args = parser.parse_args(argv)
    return run_handler(args.handler, args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
