"""Reference side of the parsing-parity benchmark.

Run it with the interpreter that has upstream ``dlm`` installed::

    /work/ref-venv/bin/python benchmarks/parity/upstream_inspect.py DOC
    /work/ref-venv/bin/python benchmarks/parity/upstream_inspect.py --batch < paths.txt > results.jsonl

It prints the same JSON object that ``dlm-desktop inspect --json DOC`` prints (the fields the parity check
compares, plus the frontmatter), computed by calling upstream's own library the way upstream's trainer strings
it together: parse the file, expand ``training.sources`` directives, turn every section into rows, merge the
``weights`` maps of every discovered ``.dlm/training.yaml``, expand the rows by weight, split train/val with the
document's seed, and route sections to the declared adapters.

A document upstream refuses makes this script exit 2 with ``ExceptionType: message`` on stderr. In ``--batch``
mode one JSON line per input path is written to stdout instead: ``{"doc", "exit_code", "result", "error"}``.

Parity target: upstream commit 1c83a65, which reads an instruction Q/A body differently from the 0.10.0 wheel
on PyPI (see ``_read_qa_body``). That rule is installed over upstream's reader at import time, so a plain PyPI
install of 0.10.0 behaves like 1c83a65 here.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

QA_HEADERS = ("### Q", "### A")
VAL_FRAC = 0.1
PER_DOC_TIMEOUT_S = 60


def _read_qa_body(lines: Any) -> str:
    """Body of one ``### Q`` or ``### A`` field under the 1c83a65 rule.

    The body runs up to (not including) the next line that is a Q or A header once stripped, or to the end of
    the section. Blank lines stay inside the body; the joined body is stripped as a whole. ``lines`` is
    upstream's peekable line cursor (``peek_line`` / ``advance``).
    """
    kept: list[str] = []
    while True:
        line = lines.peek_line()
        if line is None or line.strip() in QA_HEADERS:
            break
        kept.append(line)
        lines.advance()
    return "\n".join(kept).strip()


def _install_1c83a65_instruction_rule() -> None:
    from dlm.data import instruction_parser

    instruction_parser._read_field_body = _read_qa_body


def upstream_version() -> str:
    try:
        from importlib.metadata import version

        return version("document-language-model")
    except Exception:  # pragma: no cover - metadata missing in an editable checkout
        import dlm

        return getattr(dlm, "__version__", "unknown")


# --------------------------------------------------------------------------------------------------------------
# the pipeline


def _section_json(section: Any) -> dict[str, Any]:
    return {
        "type": section.type.value,
        "adapter": section.adapter,
        "start_line": section.start_line,
        "section_id": section.section_id,
        "content": section.content,
        "tags": dict(section.tags),
    }


def _plain(value: Any) -> Any:
    """Deep copy of a row into plain JSON types (Mapping proxies become dicts)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _split_counts(rows: list[dict[str, Any]], seed: int) -> dict[str, int]:
    """Train/val counts exactly as upstream's splitter assigns them (without building HF datasets)."""
    from collections import defaultdict

    from dlm.data import splitter

    threshold = int(VAL_FRAC * (1 << 64))
    next_sub_index: dict[str, int] = defaultdict(int)
    counts = {"train": 0, "val": 0}
    for row in rows:
        section_id = row.get("_dlm_section_id")
        if not isinstance(section_id, str) or not section_id:
            raise ValueError("every row must carry a string `_dlm_section_id`")
        sub_index = next_sub_index[section_id]
        next_sub_index[section_id] += 1
        to_val = splitter._assigns_to_val(
            seed=seed, section_id=section_id, sub_index=sub_index, threshold=threshold
        )
        counts["val" if to_val else "train"] += 1
    return counts


def _expand_directives(parsed: Any) -> tuple[Any, tuple[Any, ...]]:
    """Same steps as upstream's ``dlm.train.trainer._expand_directives``.

    That module cannot be imported without upstream's whole training stack (torch, TRL, cbor2, ...), so the
    few steps are repeated here around upstream's own ``expand_sources``: no ``training.sources`` means the
    document is unchanged and nothing is discovered; otherwise directives anchor on the document's folder,
    and the synthesized sections are appended after the in-body ones. The discovered ``.dlm/training.yaml``
    configs are returned even when no file was ingested (their ``weights`` still count).
    """
    import dataclasses

    from dlm.directives import expand_sources

    if parsed.frontmatter.training.sources is None:
        return parsed, ()
    base = parsed.source_path.parent if parsed.source_path is not None else Path.cwd()
    expanded = expand_sources(parsed, base_path=base)
    if not expanded.sections:
        return parsed, expanded.discovered
    merged = tuple(parsed.sections) + expanded.sections
    return dataclasses.replace(parsed, sections=merged), expanded.discovered


_ROUTER: Any = None


def _router() -> Any:
    """Upstream's ``dlm/train/multi_adapter/router.py``, loaded on its own.

    Importing it through its package would run ``dlm/train/__init__.py``, which pulls the training stack. The
    router module itself only needs ``dlm.doc``, so it is loaded straight from its file.
    """
    global _ROUTER
    if _ROUTER is None:
        import importlib.util

        import dlm

        router_file = Path(dlm.__file__).parent / "train" / "multi_adapter" / "router.py"
        spec = importlib.util.spec_from_file_location("_upstream_dlm_router", router_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
        spec.loader.exec_module(module)
        _ROUTER = module
    return _ROUTER


def _a210_own_weights(doc: Path) -> Any:
    """A2.10 emulation: the weights of the document folder's own `.dlm/training.yaml` (upstream's loader).

    The folder is the one relative directive paths start from: the document's, or for a scaffolded
    `<corpus>/.dlm/corpus.dlm` the corpus folder.
    """
    from dlm.directives.discovery import _load_training_yaml

    base = doc.resolve().parent
    if base.name == ".dlm":
        base = base.parent
    config = _load_training_yaml(base / ".dlm" / "training.yaml")
    return config.weights if config is not None else {}


def _a210_expand(rows: list[dict[str, Any]], sections: Any, adapters: Any, weights: Any, seed: int) -> list[Any]:
    """A2.10 emulation: expansion where rows also answer to the implicit keys `section` and `adapter`.

    `section` is the section's type; `adapter` the adapter it routes to when adapters are declared (its
    `#name`, else the first declared one for non-prose; unsuffixed prose has none). A row's own tags win.
    Floor and fraction follow upstream's expansion (upstream's own weight product and fraction roll).
    """
    from dlm.data.weighted_rows import _keep_fraction, resolve_row_weight

    names = list(adapters) if adapters else []
    implicit: dict[str, dict[str, str]] = {}
    for section in sections:
        tags = {"section": section.type.value}
        target = section.adapter
        if target is None and names and section.type.value != "prose":
            target = names[0]
        if names and target is not None:
            tags["adapter"] = target
        implicit.setdefault(section.section_id, tags)
    out: list[Any] = []
    for row in rows:
        tags = dict(row.get("_dlm_row_tags") or {})
        for key, value in implicit.get(row["_dlm_section_id"], {}).items():
            tags.setdefault(key, value)
        weight = resolve_row_weight(tags, weights)
        if weight <= 0.0:
            continue
        whole = int(weight)
        out.extend([row] * whole)
        if _keep_fraction(row["_dlm_section_id"], seed, weight - whole):
            out.append(row)
    return out


A210 = False  # set by --a210: emulate DLM Desktop's deliberate difference A2.10 (SPEC.md)


def inspect_document(doc: Path) -> dict[str, Any]:
    """Run upstream's parse → directives → rows → weights → split → routing chain on one document."""
    from dlm.data.sections_to_rows import sections_to_rows
    from dlm.data.weighted_rows import expand_rows_by_weight, merge_weights_maps, weight_distribution
    from dlm.doc.parser import parse_file

    parsed = parse_file(doc)
    parsed, discovered = _expand_directives(parsed)
    frontmatter = parsed.frontmatter

    rows = sections_to_rows(list(parsed.sections))
    if not rows:  # upstream's dataset builder refuses a document with nothing to train on
        raise ValueError("no trainable rows — document has no non-empty PROSE/INSTRUCTION/PREFERENCE sections")
    rows_json = _plain(rows)

    maps = [d.config.weights for d in discovered if d.config is not None]
    if A210:
        maps.insert(0, _a210_own_weights(doc))
    weights = merge_weights_maps(tuple(maps))
    seed = frontmatter.training.seed
    expanded = rows
    if weights:
        if A210:
            expanded = _a210_expand(rows, parsed.sections, frontmatter.training.adapters, weights, seed)
        else:
            expanded = expand_rows_by_weight(rows, weights, seed=seed)
        if not expanded:
            raise ValueError(
                "weights dropped every row — check `training.yaml` weights for zeros across all tag values"
            )
    split = _split_counts(expanded, seed)

    routing = None
    if frontmatter.training.adapters is not None:
        plan = _router().build_plan(parsed)
        routing = {name: [s.section_id for s in secs] for name, secs in plan.by_adapter.items()}

    return {
        "dlm_id": frontmatter.dlm_id,
        "dlm_version": frontmatter.dlm_version,
        "base_model": frontmatter.base_model,
        "frontmatter": frontmatter.model_dump(mode="json"),
        "sections": [_section_json(s) for s in parsed.sections],
        "rows": rows_json,
        "weights": _plain(weights),
        "weight_distribution": weight_distribution(rows) if weights else None,
        "expanded_section_ids": [r["_dlm_section_id"] for r in expanded],
        "split": split,
        "routing": routing,
        "warnings": [],
    }


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout(f"upstream took more than {PER_DOC_TIMEOUT_S}s")


def run_one(doc: Path) -> dict[str, Any]:
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(PER_DOC_TIMEOUT_S)
    try:
        result = inspect_document(doc)
        return {"doc": str(doc), "exit_code": 0, "result": result, "error": None}
    except _Timeout as exc:
        return {"doc": str(doc), "exit_code": 3, "result": None, "error": f"Timeout: {exc}"}
    except RecursionError as exc:
        return {"doc": str(doc), "exit_code": 2, "result": None, "error": f"RecursionError: {exc}"}
    except Exception as exc:  # every exception upstream raises is a refusal of the document
        one_line = " ".join(str(exc).split("\n"))
        return {"doc": str(doc), "exit_code": 2, "result": None, "error": f"{type(exc).__name__}: {one_line}"}
    finally:
        signal.alarm(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("docs", nargs="*", type=Path)
    parser.add_argument("--batch", action="store_true", help="read document paths from stdin, write JSON lines")
    parser.add_argument("--version", action="store_true", help="print the upstream version and exit")
    parser.add_argument("--a210", action="store_true",
                        help="emulate DLM Desktop's deliberate weights difference A2.10 (to explain differences)")
    args = parser.parse_args(argv)
    global A210
    A210 = args.a210

    logging.disable(logging.CRITICAL)
    _install_1c83a65_instruction_rule()
    if args.version:
        print(upstream_version())
        return 0

    if args.batch:
        out = sys.stdout
        for line in sys.stdin:
            path = line.rstrip("\n")
            if not path:
                continue
            out.write(json.dumps(run_one(Path(path)), ensure_ascii=False) + "\n")
            out.flush()
        return 0

    if len(args.docs) != 1:
        parser.error("give exactly one document (or --batch)")
    outcome = run_one(args.docs[0])
    if outcome["exit_code"] != 0:
        print(outcome["error"], file=sys.stderr)
        return outcome["exit_code"]
    print(json.dumps(outcome["result"], ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
