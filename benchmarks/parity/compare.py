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
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

CORE_FIELDS = ("sections", "rows", "expanded_section_ids", "split", "routing")
EXTRA_FIELDS = ("weights", "weight_distribution", "frontmatter", "dlm_id", "dlm_version", "base_model")
SECTION_KEYS = ("type", "adapter", "start_line", "section_id", "content", "tags")
REFUSAL_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<msg>\S.*)$")
DEFAULT_UPSTREAM_PYTHON = "/work/ref-venv/bin/python"


# ----------------------------------------------------------------------------------------------------------------
# running the two sides


class BatchProcess:
    """A long-lived `--batch` process: one document path in on stdin, one JSON line out."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.argv = argv
        self.cwd = cwd
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, text=True, encoding="utf-8", bufsize=1)
        return self.proc

    def query(self, doc: str) -> dict[str, Any]:
        with self.lock:
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(doc + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:  # the process died on this document
                self.proc = None
                return {"doc": doc, "exit_code": -1, "crash": "batch process died", "stdout": "", "stderr": "",
                        "result": None, "error": "batch process died"}
            return json.loads(line)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def run_batches(make: Any, docs: list[str], workers: int) -> dict[str, dict[str, Any]]:
    """Run `docs` through `workers` batch processes in parallel; results keyed by document path."""
    chunks = [docs[i::workers] for i in range(workers)]
    results: dict[str, dict[str, Any]] = {}

    def work(chunk: list[str]) -> None:
        proc = make()
        try:
            for doc in chunk:
                results[doc] = proc.query(doc)
        finally:
            proc.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, chunks))
    return results


def upstream_batch(python: str, a210: bool = False) -> BatchProcess:
    extra = ["--a210"] if a210 else []
    return BatchProcess([python, str(HERE / "upstream_inspect.py"), "--batch", *extra], cwd=HERE)


def ours_batch() -> BatchProcess:
    return BatchProcess([sys.executable, str(HERE / "ours_batch.py")], cwd=REPO)


def ours_cli_command() -> list[str]:
    exe = shutil.which("dlm-desktop")
    return [exe] if exe else [sys.executable, "-m", "dlm_desktop"]


def run_cli(doc: str) -> dict[str, Any]:
    try:
        proc = subprocess.run([*ours_cli_command(), "inspect", "--json", doc], capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=120, cwd=REPO)
        return {"doc": doc, "exit_code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "crash": None}
    except subprocess.TimeoutExpired:
        return {"doc": doc, "exit_code": -2, "stdout": "", "stderr": "", "crash": "timeout"}


def upstream_version(python: str) -> str:
    proc = subprocess.run([python, str(HERE / "upstream_inspect.py"), "--version"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


# ----------------------------------------------------------------------------------------------------------------
# comparing one case


@dataclass
class Verdict:
    identical: bool
    signature: str  # "" when identical
    details: list[str] = field(default_factory=list)
    extra_diffs: list[str] = field(default_factory=list)


def _stem(message: str) -> str:
    """A message with paths, quoted parts and numbers blanked out: groups refusals of one kind."""
    text = re.sub(r"(/[^\s:'\"]+)+", "<path>", message)
    text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "<q>", text)
    text = re.sub(r"\d+(\.\d+)?", "<n>", text)
    return " ".join(text.split()[:8])


def parse_ours(raw: dict[str, Any]) -> tuple[str, Any]:
    """('accept', json) | ('refuse', stderr) | ('crash', text)."""
    if raw.get("crash"):
        return "crash", raw["crash"]
    code = raw["exit_code"]
    if code == 0:
        try:
            return "accept", json.loads(raw["stdout"])
        except json.JSONDecodeError as exc:
            return "crash", f"exit 0 but stdout is not one JSON object: {exc}: {raw['stdout'][:200]!r}"
    if code == 2:
        return "refuse", raw["stderr"]
    return "crash", f"exit {code}: {raw['stderr'][-800:]}"


def refusal_problem(stderr: str, doc: str) -> str | None:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if len(lines) != 1:
        return f"refusal prints {len(lines)} stderr lines"
    match = REFUSAL_LINE.match(lines[0])
    if match is None:
        return "refusal line is not path:line[:col]: message"
    path = match.group("path")
    if not (path == doc or os.path.exists(path)):
        return "refusal names a path that does not exist"
    return None


def _section_diff(up: list[dict[str, Any]], ours: list[dict[str, Any]]) -> tuple[str, str]:
    if len(up) != len(ours):
        return "sections:count", f"upstream {len(up)} sections, ours {len(ours)}"
    for i, (a, b) in enumerate(zip(up, ours)):
        keys = [k for k in SECTION_KEYS if a.get(k) != b.get(k)]
        if keys:
            detail = "; ".join(f"{k}: upstream {a.get(k)!r} ours {b.get(k)!r}"[:400] for k in keys)
            return "sections:" + "+".join(keys), f"section {i}: {detail}"
    return "", ""


def _rows_diff(up: list[dict[str, Any]], ours: list[dict[str, Any]]) -> tuple[str, str]:
    if len(up) != len(ours):
        return "rows:count", f"upstream {len(up)} rows, ours {len(ours)}"
    for i, (a, b) in enumerate(zip(up, ours)):
        if a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            detail = "; ".join(f"{k}: upstream {a.get(k)!r} ours {b.get(k)!r}"[:400] for k in keys)
            return "rows:" + "+".join(keys), f"row {i}: {detail}"
    return "", ""


def _field_diff(name: str, up: Any, ours: Any) -> tuple[str, str]:
    if name == "sections" and isinstance(up, list) and isinstance(ours, list):
        return _section_diff(up, ours)
    if name == "rows" and isinstance(up, list) and isinstance(ours, list):
        return _rows_diff(up, ours)
    if up == ours:
        return "", ""
    if name == "expanded_section_ids" and isinstance(up, list) and isinstance(ours, list):
        kind = "count" if len(up) != len(ours) else "order"
        return f"expanded:{kind}", f"upstream {len(up)} ids, ours {len(ours)}"
    if name == "routing" and (up is None) != (ours is None):
        return "routing:null", f"upstream {up!r:.200} ours {ours!r:.200}"
    return name, f"upstream {json.dumps(up, ensure_ascii=False)[:300]} ours {json.dumps(ours, ensure_ascii=False)[:300]}"


def compare_case(up_raw: dict[str, Any], ours_raw: dict[str, Any], doc: str) -> Verdict:
    status, ours = parse_ours(ours_raw)
    up_ok = up_raw["exit_code"] == 0
    if status == "crash":
        last = str(ours).strip().splitlines()[-1] if str(ours).strip() else "?"
        return Verdict(False, f"ours crashed: {_stem(last)}", [str(ours)[-1500:]])
    if up_raw["exit_code"] not in (0, 2):
        return Verdict(False, f"upstream abnormal: {up_raw.get('error')}", [])
    if not up_ok and status == "accept":
        err = up_raw["error"]
        kind = err.split(":")[0]
        return Verdict(False, f"upstream refuses, ours accepts: {kind}: {_stem(err[len(kind) + 1:])}", [err])
    if up_ok and status == "refuse":
        return Verdict(False, f"upstream accepts, ours refuses: {_stem(_after_location(ours))}", [ours.strip()])
    if not up_ok:
        problem = refusal_problem(ours, doc)
        if problem:
            return Verdict(False, f"refusal format: {problem}", [ours.strip()[:1500], up_raw["error"]])
        return Verdict(True, "")
    up = up_raw["result"]
    sigs: list[str] = []
    details: list[str] = []
    for name in CORE_FIELDS:
        if name not in ours:
            sigs.append(f"{name}:missing")
            continue
        sig, detail = _field_diff(name, up.get(name), ours.get(name))
        if sig:
            sigs.append(sig)
            details.append(f"{name}: {detail}")
    extra: list[str] = []
    for name in EXTRA_FIELDS:
        if name not in ours:
            extra.append(f"{name}:missing")
            continue
        sig, detail = _field_diff(name, up.get(name), ours.get(name))
        if sig:
            extra.append(f"{name}: {detail}" if name != "frontmatter" else "frontmatter: " + _dict_diff(
                up.get(name), ours.get(name)))
    return Verdict(not sigs, " + ".join(sigs), details, extra)


def _after_location(stderr: str) -> str:
    line = (stderr.strip().splitlines() or [""])[-1]
    match = REFUSAL_LINE.match(line)
    return match.group("msg") if match else line


def _dict_diff(a: Any, b: Any, prefix: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key, "<absent>") != b.get(key, "<absent>"):
                return _dict_diff(a.get(key, "<absent>"), b.get(key, "<absent>"), f"{prefix}.{key}")
        return prefix
    return f"{prefix.lstrip('.')}: upstream {a!r:.120} ours {b!r:.120}"


# ----------------------------------------------------------------------------------------------------------------
# shrinking a differing case to a minimal document


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


# ----------------------------------------------------------------------------------------------------------------
# the run


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


def main() -> int:
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
    args = parser.parse_args()

    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="dlm-parity-")).resolve()
    root = (args.cases_dir.resolve() if args.cases_dir else tmp / "cases")
    if root.exists():
        shutil.rmtree(root)
    generate.generate(root, args.cases, args.seed, args.kind)
    cases = collect_cases(root)
    docs = [str(root / c["name"] / c["doc"]) for c in cases]
    t_gen = time.monotonic() - started

    version = upstream_version(args.upstream_python)
    t0 = time.monotonic()
    up = run_batches(lambda: upstream_batch(args.upstream_python), docs, args.workers)
    t_up = time.monotonic() - t0
    t0 = time.monotonic()
    ours = run_batches(ours_batch, docs, args.workers)
    t_ours = time.monotonic() - t0

    rng = random.Random(args.seed)
    sample = rng.sample(range(len(cases)), min(args.cli_sample, len(cases)))
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        cli = dict(zip((docs[i] for i in sample), pool.map(run_cli, [docs[i] for i in sample])))
    t_cli = time.monotonic() - t0

    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)

    groups: dict[str, list[tuple[dict[str, Any], Verdict]]] = defaultdict(list)
    identical = total = 0
    a210_total = a210_same = 0
    extra_counter: Counter[str] = Counter()
    extra_cases: dict[str, list[tuple[dict[str, Any], Verdict]]] = defaultdict(list)
    accept_counts = Counter()
    for case, doc in zip(cases, docs):
        verdict = compare_case(up[doc], ours[doc], doc)
        accept_counts[("up_accepts" if up[doc]["exit_code"] == 0 else "up_refuses")] += 1
        if case.get("a210"):
            a210_total += 1
            a210_same += verdict.identical
            if not verdict.identical:
                groups["[A2.10] " + verdict.signature].append((case, verdict))
            continue
        total += 1
        identical += verdict.identical
        if not verdict.identical:
            groups[verdict.signature].append((case, verdict))
        for extra in verdict.extra_diffs:
            key = extra.split(":")[0] + ": " + _stem(extra.split(":", 1)[1])[:60]
            extra_counter[key] += 1
            extra_cases[key].append((case, verdict))

    # A2.10 differences must vanish when upstream emulates A2.10; anything left is a real difference
    a210_docs = [str(root / c["name"] / c["doc"]) for c in cases if c.get("a210")]
    up_a210 = run_batches(lambda: upstream_batch(args.upstream_python, a210=True), a210_docs, args.workers)
    a210_unexplained = []
    for case in (c for c in cases if c.get("a210")):
        doc = str(root / case["name"] / case["doc"])
        verdict = compare_case(up_a210[doc], ours[doc], doc)
        if not verdict.identical:
            a210_unexplained.append(case["name"])
            groups["[A2.10 not explained by the emulation] " + verdict.signature].append((case, verdict))

    # the real CLI must agree with the in-process entry point
    cli_mismatch = []
    for doc, cli_raw in cli.items():
        a, b = parse_ours(cli_raw), parse_ours(ours[doc])
        if a[0] != b[0] or (a[0] == "accept" and a[1] != b[1]) or (a[0] == "refuse" and a[1].strip() != b[1].strip()):
            cli_mismatch.append((doc, cli_raw, ours[doc]))
    cli_identical = sum(compare_case(up[d], cli[d], d).identical for d in cli)

    ratio = identical / total if total else 0.0
    report: list[str] = []
    report.append(f"parity: {identical}/{total} identical (ratio {ratio:.4f}) against upstream dlm {version} "
                  f"+ 1c83a65 instruction rule")
    report.append(f"A2.10 cases (deliberate difference, not in the ratio): {a210_same}/{a210_total} identical, "
                  f"{a210_total - a210_same} differ; with upstream emulating A2.10: "
                  f"{a210_total - len(a210_unexplained)}/{a210_total} identical")
    report.append(f"real CLI sample: {len(cli)} cases, {cli_identical} identical to upstream, "
                  f"{len(cli_mismatch)} disagree with the in-process run")
    report.append(f"upstream accepted {accept_counts['up_accepts']}, refused {accept_counts['up_refuses']}; "
                  f"times: generate {t_gen:.0f}s, upstream {t_up:.0f}s, ours {t_ours:.0f}s, CLI sample {t_cli:.0f}s")
    if extra_counter:
        report.append("extra fields (weights / weight_distribution / frontmatter / ids) differing, all cases:")
        for key, n in extra_counter.most_common(15):
            names = ", ".join(c["name"] for c, _ in extra_cases[key][:4])
            report.append(f"  {n:5d}  {key}  (e.g. {names})")
    report.append("")
    report.append("differences by kind:")

    for key, members in extra_cases.items():
        for case, verdict in members:
            doc = str(root / case["name"] / case["doc"])
            write_diff_case(args.out, root, case, up[doc], ours[doc], verdict, "extra_" + slug(key)[:60])

    up_proc = upstream_batch(args.upstream_python)
    ours_proc = ours_batch()
    scratch = tmp / "shrink"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        for rank, (signature, members) in enumerate(sorted(groups.items(), key=lambda kv: -len(kv[1]))):
            group_dir = f"{len(members):04d}_{slug(signature)}"
            kinds = Counter(c["kind"] for c, _ in members)
            feats = Counter(f for c, _ in members for f in c["features"])
            report.append(f"- {len(members):5d}  {signature}")
            report.append(f"         kinds: {dict(kinds.most_common(4))}; frequent features: "
                          f"{[f for f, _ in feats.most_common(6)]}")
            for case, verdict in members:
                doc = str(root / case["name"] / case["doc"])
                write_diff_case(args.out, root, case, up[doc], ours[doc], verdict, group_dir)
            smallest = sorted(members, key=lambda cv: case_size(root, cv[0]))[: args.shrink]
            for case, verdict in smallest:
                minimal = shrink(root / case["name"], case["doc"], verdict.signature, up_proc, ours_proc, scratch) \
                    if rank < args.shrink_groups else None
                dest = args.out / group_dir / case["name"]
                shown = verdict.details[0] if verdict.details else ""
                report.append(f"         {case['name']} ({case['kind']}): {shown[:300]}")
                if minimal is not None:
                    (dest / "minimal.dlm").write_bytes(minimal)
                    text = minimal.decode("utf-8", "backslashreplace")
                    report.append("           minimal document (" + str(dest / "minimal.dlm") + "):")
                    for line in text.split("\n")[:30]:
                        report.append("           | " + visible(line))
    finally:
        up_proc.close()
        ours_proc.close()

    text = "\n".join(report) + "\n"
    (args.out / "report.txt").write_text(text, encoding="utf-8")
    for doc, cli_raw, inproc_raw in cli_mismatch:
        case_name = Path(doc).relative_to(root).parts[0]
        dest = args.out / "cli_vs_inprocess" / case_name
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "cli.json").write_text(json.dumps(cli_raw, indent=1, ensure_ascii=False), encoding="utf-8")
        (dest / "inprocess.json").write_text(json.dumps(inproc_raw, indent=1, ensure_ascii=False), encoding="utf-8")
        shutil.copytree(root / case_name, dest / "input", symlinks=True, dirs_exist_ok=True)
    print(text)
    print(f"differing cases written to {args.out}")
    if not args.cases_dir:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
