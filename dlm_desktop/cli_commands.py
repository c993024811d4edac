"""The `dlm-desktop` subcommands: thin callers of the core that render its events on a terminal.

Each returns an exit code (0 ok, 1 failure, 2 bad input); typed errors are mapped by `cli.run_handler`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _print_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, sort_keys=False) + "\n")


def cmd_inspect(args: argparse.Namespace) -> int:
    from dlm_desktop.core.document.pipeline import load_document
    from dlm_desktop.cli_render import render_inspect_text

    report = load_document(Path(args.document))
    if args.json:
        _print_json(report.to_json_dict())
    else:
        sys.stdout.write(render_inspect_text(report))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
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


def cmd_train(args: argparse.Namespace) -> int:
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


def parse_mix(text: str) -> dict[str, float]:
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


def cmd_export(args: argparse.Namespace) -> int:
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


def _loading_event(progress, event) -> bool:
    """Render a model-loading/status/notice event of the inference layer; False if it is something else."""
    from dlm_desktop.core.models import ModelProgress

    if isinstance(event, ModelProgress):
        progress.bar(event.fraction, event.message)
        return True
    message = getattr(event, "message", None)
    if message is not None and type(event).__name__ in ("InferenceStatus", "InferenceNotice"):
        progress.bar(None, message) if type(event).__name__ == "InferenceStatus" else progress.message(message)
        return True
    return False


def cmd_prompt(args: argparse.Namespace) -> int:
    from dlm_desktop.cli_progress import ProgressLine, ctrl_c_cancels, drive
    from dlm_desktop.core.inference.chat import ChatRequest, ChatRouted, prompt_document
    from dlm_desktop.core.inference.generation import TokenEvent

    request = ChatRequest(
        document_path=Path(args.document), text=args.text, side_by_side=args.side_by_side, gate=args.gate,
        adapter=args.adapter, strength=args.lambda_, max_tokens=args.max_tokens, temperature=args.temperature,
        mix=args.mix,
    )
    progress = ProgressLine()
    stream_one = not args.json and not args.side_by_side  # one answer can stream straight to the terminal

    def on_event(event) -> None:
        if _loading_event(progress, event):
            return
        if isinstance(event, ChatRouted) and not args.json:
            progress.finish()
            if event.gate_mode != "none" and event.weights:
                mix = ", ".join(f"{name} {weight:.2f}" for name, weight in event.weights.items())
                sys.stderr.write(f"gate ({event.gate_mode}): {mix}\n")
        elif isinstance(event, TokenEvent) and stream_one:
            sys.stdout.write(event.text)
            sys.stdout.flush()

    with ctrl_c_cancels() as stop:
        try:
            result = drive(prompt_document(request, should_stop=stop.is_set), on_event)
        finally:
            progress.finish()
    if args.json:
        _print_json(result.as_json_dict())
    elif stream_one:
        sys.stdout.write("\n")
    else:
        sys.stdout.write(f"--- base model\n{result.base.text.strip()}\n--- fine-tuned\n{result.finetuned.text.strip()}\n")
    return EXIT_OK


def cmd_probe(args: argparse.Namespace) -> int:
    from dlm_desktop.cli_progress import ProgressLine, drive
    from dlm_desktop.core.inference.document_probe import ProbeRequest, probe_document

    progress = ProgressLine()

    def on_event(event) -> None:
        if not _loading_event(progress, event) and hasattr(event, "done"):
            progress.bar(event.done / max(event.total, 1), event.message)

    try:
        report = drive(probe_document(ProbeRequest(document_path=Path(args.document))), on_event)
    finally:
        progress.finish()
    data = report.as_json_dict()
    if args.json:
        _print_json(data)
    else:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


DEMO_QUESTION = "How tall is the Marrowgate Lighthouse?"


def cmd_demo(args: argparse.Namespace) -> int:
    """The app's main job without a window: the bundled example, trained, compared, exported.

    Each stage runs the real subcommand with arguments parsed by the real parser, so the demo cannot drift from
    what `dlm-desktop train/prompt/export` accept."""
    from dlm_desktop.cli import build_parser
    from dlm_desktop.core.examples import ensure_example_copy

    parser = build_parser()
    document = str(ensure_example_copy())
    out = sys.stdout
    out.write(f"== 1/4 the document: {document}\n")
    cmd_inspect(parser.parse_args(["inspect", document]))
    out.write(f"\n== 2/4 fine-tuning on this machine ({args.max_steps} steps, real SmolLM2-135M weights)\n")
    status = cmd_train(parser.parse_args(["train", document, "--max-steps", str(args.max_steps)]))
    if status != EXIT_OK:
        return status
    out.write("\n== 3/4 base and fine-tuned model answer the same question, side by side\n")
    status = cmd_prompt(parser.parse_args(
        ["prompt", document, DEMO_QUESTION, "--side-by-side", "--max-tokens", "48", "--temperature", "0"]))
    if status != EXIT_OK:
        return status
    out.write("\n== 4/4 export to GGUF for Ollama / llama.cpp, checked against the in-app model\n")
    export = ["export", document, "--quant", "Q8_0"] + ([] if args.ollama else ["--no-ollama"])
    return cmd_export(parser.parse_args(export))
