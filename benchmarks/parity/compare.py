"""Parsing parity of `dlm-desktop inspect --json` against upstream `dlm` (release + the 1c83a65 Q/A rule).

    python benchmarks/parity/compare.py --cases 2000 --seed 1 [--upstream-python PATH] [--out DIR]

1. Generates seeded cases (`generate.py`) into a temporary folder.
2. Runs upstream on all of them with the upstream interpreter, a few long-lived processes each handling many
   documents (`upstream_inspect.py --batch`).
3. Runs DLM Desktop's real entry point in-process on all of them, batched the same way (`ours_batch.py`), and
   the real `dlm-desktop inspect --json` command on a sample of cases (at least 100), which must agree with the
   in-process result.
4. Compares field by field: sections (type, adapter, start_line, section_id, content, tags), rows,
   expanded_section_ids, split and routing; that both accept or both refuse; and that each of our refusals
   exits 2 with one stderr line `path:line[:col]: message`. Weights, weight_distribution and the frontmatter
   are compared too and reported on their own line.
5. Prints `parity: N/M identical (ratio R) against upstream dlm <version> + 1c83a65 instruction rule`, groups
   the differences by kind, shrinks a few cases per kind to minimal documents, and writes every differing case
   (inputs, both outputs, the diff) to `--out`.

Cases of kind `a210` exercise DLM Desktop's deliberate difference A2.10 (implicit `section`/`adapter` weight keys,
the document folder's `.dlm/training.yaml` read without a directive); they are counted separately.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from runners import (  # noqa: E402
    DEFAULT_UPSTREAM_PYTHON,
    REPO,
    BatchProcess,
    ours_batch,
    run_batches,
    run_cli,
    run_upstream_relative,
    upstream_batch,
    upstream_version,
)
from verdict import Verdict, compare_case, same_outcome, stem  # noqa: E402

Group = list[tuple[dict[str, Any], Verdict]]


def shrink(case_dir: Path, doc_rel: str, signature: str, up: BatchProcess, ours: BatchProcess,
           scratch: Path, budget: int = 300) -> bytes | None:
    """Delete lines of the document while the difference keeps the same signature; return the smallest."""
    work = scratch / case_dir.name
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(case_dir, work, symlinks=True)
    doc = work / doc_rel
    lines = doc.read_bytes().split(b"\n")
    calls = 0

    def still_differs(candidate: list[bytes]) -> bool:
        nonlocal calls
        calls += 1
        doc.write_bytes(b"\n".join(candidate))
        verdict = compare_case(up.query(str(doc)), ours.query(str(doc)), str(doc))
        return verdict.signature == signature

    improved = True
    while improved and calls < budget:
        improved = False
        chunk = max(1, len(lines) // 2)
        while chunk >= 1 and calls < budget:
            step = 1 if chunk <= 4 else chunk  # small chunks at every offset: pairs like an opening/closing ```
            i = 0
            while i < len(lines) and calls < budget:
                candidate = lines[:i] + lines[i + chunk:]
                if candidate and still_differs(candidate):
                    lines = candidate
                    improved = True
                else:
                    i += step
            chunk //= 2
    doc.write_bytes(b"\n".join(lines))
    return b"\n".join(lines)


def collect_cases(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob("case_*.json"))]


def case_size(root: Path, case: dict[str, Any]) -> int:
    total = 0
    for p in (root / case["name"]).rglob("*"):
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
    return total


def write_diff_case(out: Path, root: Path, case: dict[str, Any], up: dict[str, Any], ours: dict[str, Any],
                    verdict: Verdict, group_dir: str) -> Path:
    dest = out / group_dir / case["name"]
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(root / case["name"], dest / "input", symlinks=True)
    (dest / "case.json").write_text(json.dumps(case, indent=1, ensure_ascii=False), encoding="utf-8")
    (dest / "upstream.json").write_text(json.dumps(up, indent=1, ensure_ascii=False), encoding="utf-8")
    ours_view = dict(ours)
    try:
        ours_view["stdout_json"] = json.loads(ours.get("stdout") or "null")
        ours_view.pop("stdout")
    except json.JSONDecodeError:
        pass
    (dest / "ours.json").write_text(json.dumps(ours_view, indent=1, ensure_ascii=False), encoding="utf-8")
    (dest / "diff.txt").write_text(
        f"signature: {verdict.signature}\n\n" + "\n".join(verdict.details) + "\n\nextra:\n" +
        "\n".join(verdict.extra_diffs) + "\n", encoding="utf-8")
    return dest


def visible(line: str) -> str:
    """A line with every non-printable character (controls, separators, BOM, odd spaces) escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in line)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:80] or "group"


@dataclass
class Run:
    """Everything one comparison run produced."""

    root: Path
    cases: list[dict[str, Any]]
    docs: list[str]
    up: dict[str, dict[str, Any]]
    ours: dict[str, dict[str, Any]]
    version: str
    times: dict[str, float] = field(default_factory=dict)
    cli: dict[str, dict[str, Any]] = field(default_factory=dict)
    up_rel: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Tally:
    """The comparison of every case, grouped."""

    identical: int = 0
    total: int = 0
    a210_total: int = 0
    a210_same: int = 0
    a210_unexplained: int = 0
    up_accepts: int = 0
    groups: dict[str, Group] = field(default_factory=lambda: defaultdict(list))
    extra: dict[str, Group] = field(default_factory=lambda: defaultdict(list))
    cli_identical: int = 0
    cli_mismatch: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    path_form_sensitive: int = 0


def run_sides(args: argparse.Namespace, root: Path) -> Run:
    """Generate the cases and run upstream and ours on all of them (batched), then the CLI on a sample."""
    started = time.monotonic()
    if root.exists():
        shutil.rmtree(root)
    generate.generate(root, args.cases, args.seed, args.kind)
    cases = collect_cases(root)
    docs = [str(root / c["name"] / c["doc"]) for c in cases]
    times = {"generate": time.monotonic() - started}
    t0 = time.monotonic()
    up = run_batches(lambda: upstream_batch(args.upstream_python), docs, args.workers)
    times["upstream"] = time.monotonic() - t0
    t0 = time.monotonic()
    ours = run_batches(ours_batch, docs, args.workers)
    times["ours"] = time.monotonic() - t0
    run = Run(root, cases, docs, up, ours, upstream_version(args.upstream_python), times)
    t0 = time.monotonic()
    run_cli_sample(args, run)
    times["CLI sample"] = time.monotonic() - t0
    return run


def run_cli_sample(args: argparse.Namespace, run: Run) -> None:
    """The real command on a sample; every other one run from the document's folder with a bare file name
    (compared with upstream run the same way, since upstream's result can depend on the path form)."""
    candidates = [i for i, c in enumerate(run.cases) if not c.get("a210")]
    sample = random.Random(args.seed).sample(candidates, min(args.cli_sample, len(candidates)))
    docs = [run.docs[i] for i in sample]
    relative = [k % 2 == 1 for k in range(len(docs))]
    rel_docs = [d for d, rel in zip(docs, relative) if rel]
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        run.cli = dict(zip(docs, pool.map(run_cli, docs, relative)))
        run.up_rel = dict(zip(rel_docs, pool.map(lambda d: run_upstream_relative(args.upstream_python, d),
                                                 rel_docs)))


def tally(args: argparse.Namespace, run: Run) -> Tally:
    t = Tally()
    for case, doc in zip(run.cases, run.docs):
        verdict = compare_case(run.up[doc], run.ours[doc], doc)
        t.up_accepts += run.up[doc]["exit_code"] == 0
        if case.get("a210"):
            t.a210_total += 1
            t.a210_same += verdict.identical
            if not verdict.identical:
                t.groups["[A2.10] " + verdict.signature].append((case, verdict))
            continue
        t.total += 1
        t.identical += verdict.identical
        if not verdict.identical:
            t.groups[verdict.signature].append((case, verdict))
        for extra in verdict.extra_diffs:
            t.extra[extra.split(":")[0] + ": " + stem(extra.split(":", 1)[1])[:60]].append((case, verdict))
    check_a210(args, run, t)
    check_cli(run, t)
    return t


def check_a210(args: argparse.Namespace, run: Run, t: Tally) -> None:
    """A2.10 differences must vanish when upstream emulates A2.10; anything left is a real difference."""
    a210 = [(c, d) for c, d in zip(run.cases, run.docs) if c.get("a210")]
    emulated = run_batches(lambda: upstream_batch(args.upstream_python, a210=True), [d for _, d in a210],
                           args.workers)
    for case, doc in a210:
        verdict = compare_case(emulated[doc], run.ours[doc], doc)
        if not verdict.identical:
            t.a210_unexplained += 1
            t.groups["[A2.10 not explained by the emulation] " + verdict.signature].append((case, verdict))


def check_cli(run: Run, t: Tally) -> None:
    for doc, cli_raw in run.cli.items():
        reference = run.up_rel.get(doc, run.up[doc])
        same_as_upstream = compare_case(reference, cli_raw, cli_raw["arg"]).identical
        t.cli_identical += same_as_upstream
        if doc not in run.up_rel and not same_outcome(cli_raw, run.ours[doc]):
            t.cli_mismatch.append((doc, cli_raw, run.ours[doc]))
        elif doc in run.up_rel and not same_as_upstream:
            t.cli_mismatch.append((doc, cli_raw, reference))
    t.path_form_sensitive = sum(1 for d, r in run.up_rel.items()
                                if (r["exit_code"] == 0) != (run.up[d]["exit_code"] == 0))


def summary_lines(run: Run, t: Tally) -> list[str]:
    ratio = t.identical / t.total if t.total else 0.0
    times = ", ".join(f"{k} {v:.0f}s" for k, v in run.times.items())
    lines = [
        f"parity: {t.identical}/{t.total} identical (ratio {ratio:.4f}) against upstream dlm {run.version} "
        f"+ 1c83a65 instruction rule",
        f"A2.10 cases (deliberate difference, not in the ratio): {t.a210_same}/{t.a210_total} identical, "
        f"{t.a210_total - t.a210_same} differ; with upstream emulating A2.10: "
        f"{t.a210_total - t.a210_unexplained}/{t.a210_total} identical",
        f"real CLI sample: {len(run.cli)} cases, {t.cli_identical} identical to upstream run the same way "
        f"({len(run.up_rel)} of them run from the document's folder with a bare file name), "
        f"{len(t.cli_mismatch)} disagree (in cli_vs_inprocess/); upstream's own accept/refuse changed with the "
        f"path form in {t.path_form_sensitive}",
        f"upstream accepted {t.up_accepts}, refused {len(run.cases) - t.up_accepts}; times: {times}",
    ]
    if t.extra:
        lines.append("extra fields (weights / weight_distribution / frontmatter / ids) differing:")
        for key, members in sorted(t.extra.items(), key=lambda kv: -len(kv[1]))[:15]:
            names = ", ".join(c["name"] for c, _ in members[:4])
            lines.append(f"  {len(members):5d}  {key}  (e.g. {names})")
    return lines


def group_lines(args: argparse.Namespace, run: Run, t: Tally, scratch: Path) -> list[str]:
    """Per kind of difference: counts, frequent features, and the smallest cases shrunk to minimal documents;
    every differing case is written under `args.out`."""
    lines = ["", "differences by kind:"]
    for key, members in t.extra.items():
        for case, verdict in members:
            doc = str(run.root / case["name"] / case["doc"])
            write_diff_case(args.out, run.root, case, run.up[doc], run.ours[doc], verdict, "extra_" + slug(key)[:60])
    up_proc, ours_proc = upstream_batch(args.upstream_python), ours_batch()
    try:
        for rank, (signature, members) in enumerate(sorted(t.groups.items(), key=lambda kv: -len(kv[1]))):
            group_dir = f"{len(members):04d}_{slug(signature)}"
            kinds = Counter(c["kind"] for c, _ in members)
            feats = Counter(f for c, _ in members for f in c["features"])
            lines.append(f"- {len(members):5d}  {signature}")
            lines.append(f"         kinds: {dict(kinds.most_common(4))}; frequent features: "
                         f"{[f for f, _ in feats.most_common(6)]}")
            for case, verdict in members:
                doc = str(run.root / case["name"] / case["doc"])
                write_diff_case(args.out, run.root, case, run.up[doc], run.ours[doc], verdict, group_dir)
            smallest = sorted(members, key=lambda cv: case_size(run.root, cv[0]))[: args.shrink]
            for case, verdict in smallest:
                lines.append(f"         {case['name']} ({case['kind']}): "
                             f"{(verdict.details[0] if verdict.details else '')[:300]}")
                if rank < args.shrink_groups:
                    minimal = shrink(run.root / case["name"], case["doc"], verdict.signature, up_proc, ours_proc,
                                     scratch)
                    dest = args.out / group_dir / case["name"] / "minimal.dlm"
                    dest.write_bytes(minimal)
                    lines.append(f"           minimal document ({dest}):")
                    text = minimal.decode("utf-8", "backslashreplace")
                    lines.extend("           | " + visible(line) for line in text.split("\n")[:30])
    finally:
        up_proc.close()
        ours_proc.close()
    return lines


def write_cli_mismatches(out: Path, run: Run, t: Tally) -> None:
    for doc, cli_raw, reference in t.cli_mismatch:
        case_name = Path(doc).relative_to(run.root).parts[0]
        dest = out / "cli_vs_inprocess" / case_name
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "cli.json").write_text(json.dumps(cli_raw, indent=1, ensure_ascii=False), encoding="utf-8")
        # the in-process run for absolute paths, upstream run the same way for relative ones
        (dest / "reference.json").write_text(json.dumps(reference, indent=1, ensure_ascii=False), encoding="utf-8")
        shutil.copytree(run.root / case_name, dest / "input", symlinks=True, dirs_exist_ok=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--upstream-python", default=os.environ.get("DLM_UPSTREAM_PYTHON", DEFAULT_UPSTREAM_PYTHON))
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "parity" / "out")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cli-sample", type=int, default=100, help="cases also run through the real CLI")
    parser.add_argument("--shrink", type=int, default=3, help="cases per difference kind shrunk to minimal docs")
    parser.add_argument("--shrink-groups", type=int, default=30, help="shrink cases of this many largest kinds")
    parser.add_argument("--cases-dir", type=Path, default=None, help="keep the generated cases here")
    parser.add_argument("--kind", default=None, help="generate only this kind of case")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dlm-parity-")).resolve()
    try:
        run = run_sides(args, args.cases_dir.resolve() if args.cases_dir else tmp / "cases")
        t = tally(args, run)
        if args.out.exists():
            shutil.rmtree(args.out)
        args.out.mkdir(parents=True)
        scratch = tmp / "shrink"
        scratch.mkdir()
        text = "\n".join(summary_lines(run, t) + group_lines(args, run, t, scratch)) + "\n"
        (args.out / "report.txt").write_text(text, encoding="utf-8")
        write_cli_mismatches(args.out, run, t)
        print(text)
        print(f"differing cases written to {args.out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
