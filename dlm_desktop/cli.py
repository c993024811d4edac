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


def _parse_mix(text: str) -> dict[str, float]:
    """`name:weight[,name:weight...]` (order kept; weights are numbers >= 0; no duplicates or empty entries)."""
    import math
    import re

    mix: dict[str, float] = {}
    for entry in text.split(","):
        name, sep, weight = entry.strip().partition(":")
        name, weight = name.strip(), weight.strip()
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name) or not weight:
            raise argparse.ArgumentTypeError(f"{entry.strip()!r} is not name:weight (e.g. knowledge:0.7,tone:0.3)")
        try:
            value = float(weight)
        except ValueError:
            raise argparse.ArgumentTypeError(f"weight {weight!r} of {name!r} is not a number") from None
        if not math.isfinite(value) or value < 0 or name in mix:
            raise argparse.ArgumentTypeError(f"{name!r}: weights must be finite, 0 or more, each adapter once")
        mix[name] = value
    return mix


def _export_json(result) -> dict:
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    artifacts = [
        {"path": str(result.out_dir / a["path"]), "sha256": a["sha256"], "size_bytes": a["size_bytes"]}
        for a in manifest.get("artifacts", [])
    ]
    parity = result.parity or {}
    ollama = result.ollama
    return {
        "out_dir": str(result.out_dir),
        "artifacts": artifacts,
        "modelfile": str(result.modelfile),
        "gate_mode": result.selection.gate_mode,
        "mix": dict(result.selection.mix) if len(result.selection.adapters) > 1 else None,
        "quant": result.quant,
        "parity": {k: parity.get(k) for k in ("greedy_exact", "top1_agreement", "prompts", "passed")}
        | {"greedy_match": parity.get("greedy_exact")} if parity else None,
        "ollama": {
            "created": bool(ollama and ollama.status == "created"),
            "name": result.ollama_name,
            "message": ollama.message if ollama else "not requested (--no-ollama); run: "
            f"cd {result.out_dir} && ollama create {result.ollama_name} -f Modelfile",
        },
    }


def _cmd_export(args: argparse.Namespace) -> int:
    from dlm_desktop.cli_progress import ProgressLine, ctrl_c_cancels, drive
    from dlm_desktop.core.export import ExportLog, ExportNotice, ExportProgress, ExportRequest, run_export

    request = ExportRequest(
        document_path=Path(args.document), quant=args.quant, merged=args.merged, mix=args.mix,
        adapter=args.adapter, name=args.name, out_dir=args.out, ollama=not args.no_ollama, parity=True,
    )
    progress = ProgressLine()

    def on_event(event) -> None:
        if isinstance(event, ExportProgress):
            fraction = event.done / event.total if event.total else None
            progress.bar(fraction, f"{event.stage}: {event.message}")
        elif isinstance(event, ExportNotice):
            progress.message(event.message)
        elif isinstance(event, ExportLog) and not args.json:
            pass  # tool output stays in the details (GUI); the terminal shows stages

    with ctrl_c_cancels() as stop:
        try:
            result = drive(run_export(request, should_stop=stop.is_set), on_event)
        finally:
            progress.finish()
    summary = _export_json(result)
    if args.json:
        _print_json(summary)
    else:
        for artifact in summary["artifacts"]:
            sys.stdout.write(f"wrote {artifact['path']} ({artifact['size_bytes'] / 1e6:.1f} MB)\n")
        sys.stdout.write(f"wrote {summary['modelfile']}\n")
        if summary["parity"]:
            p = summary["parity"]
            verdict = "matches" if p.get("passed") else "DIFFERS from"
            sys.stdout.write(
                f"parity: the exported model {verdict} the in-app model (top-1 agreement {p['top1_agreement']:.1%},"
                f" identical greedy answers {p['greedy_exact']:.0%} of {p['prompts']} prompts)\n"
            )
        sys.stdout.write(summary["ollama"]["message"] + "\n")
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

    train = sub.add_parser("train", help="fine-tune the document's adapters (and gate) on this machine")
    train.add_argument("document", help="path to a .dlm file")
    train.add_argument("--max-steps", type=_positive_int, default=None, help="stop after N optimizer steps")
    train.add_argument("--resume", action="store_true", help="continue the interrupted run (or the current adapter)")
    train.add_argument("--base", default=None, metavar="KEY|PATH", help="use another base model than the document's")
    train.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    train.set_defaults(handler=_cmd_train)

    export = sub.add_parser("export", help="export to GGUF + an Ollama Modelfile, checked against the in-app model")
    export.add_argument("document", help="path to a .dlm file")
    export.add_argument("--quant", choices=["F16", "Q8_0", "Q4_K_M", "Q5_K_M", "Q6_K"], default=None)
    export.add_argument("--merged", action="store_true", help="merge the adapter into the base weights")
    which = export.add_mutually_exclusive_group()
    which.add_argument("--mix", type=_parse_mix, default=None, metavar="SPEC", help="manual mix, e.g. a:0.7,b:0.3")
    which.add_argument("--adapter", default=None, metavar="NAME", help="export one named adapter")
    export.add_argument("--name", default=None, help="the Ollama model name (default dlm-<id>:vNNNN)")
    export.add_argument("--out", type=Path, default=None, metavar="DIR", help="default: beside the document")
    export.add_argument("--no-ollama", action="store_true", help="do not run `ollama create`")
    export.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    export.set_defaults(handler=_cmd_export)

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


def _run_window(argv: list[str]) -> int:
    """`dlm-desktop [DOCUMENT] [--self-test [--screenshots DIR]]`: the desktop window."""
    parser = argparse.ArgumentParser(prog="dlm-desktop", description="Open the DLM Desktop window.")
    parser.add_argument("document", nargs="?", help="a .dlm file to open (default: the last one, or the example)")
    parser.add_argument("--self-test", action="store_true", help="open offscreen, render every pane, exit 0")
    parser.add_argument("--screenshots", metavar="DIR", help="with --self-test: save a PNG of each pane here")
    args = parser.parse_args(argv)
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
