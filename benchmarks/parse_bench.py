"""Parsing speed: parse + rows + weight expansion of a 2,000-section document and of a 2,000-file source tree.

Prints MB/s for DLM Desktop and, in the same run on the same files, for upstream `dlm` (PyPI
`document-language-model`, installed into a throwaway virtualenv for this benchmark only), and the ratio.
Both sides time the same stages: parse + source expansion + rows + weight expansion (upstream's splitter needs
the `datasets` package); our whole `load_document`, which also splits and routes, is printed beside it.
Both sides run in their own fresh interpreter, alternately, best of several repetitions; the machine is checked
for idleness first because 2-core timings swing wildly under other load.

    python benchmarks/parse_bench.py [--upstream-python PATH] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
if str(ROOT_DIR) not in sys.path:  # run from a checkout
    sys.path.insert(0, str(ROOT_DIR))

from benchmarks.machine import busy_fraction  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "_out"
HEAD = "---\ndlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7\nbase_model: smollm2-135m\ntraining:\n  seed: 42\n"
WORDS = "the lighthouse keeper wound clockwork every four hours while ships passed granite point river".split()


def _sentence(rng: random.Random, n: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def write_big_document(path: Path, sections: int = 2000) -> None:
    """Prose, instruction and preference sections in turn (bodies valid under both instruction grammars)."""
    rng = random.Random(1)
    parts = [HEAD + "---\n"]
    for index in range(sections):
        kind = index % 3
        if kind == 0:
            parts.append("::prose::\n" + "\n".join(_sentence(rng) for _ in range(6)) + "\n")
        elif kind == 1:
            parts.append(f"::instruction::\n### Q\n{_sentence(rng, 8)} {index}?\n### A\n{_sentence(rng)}\n")
        else:
            parts.append(
                f"::preference::\n### Prompt\n{_sentence(rng, 8)} {index}\n### Chosen\n{_sentence(rng)}\n"
                f"### Rejected\n{_sentence(rng)}\n"
            )
    path.write_text("\n".join(parts), encoding="utf-8")


def write_source_tree(root: Path, files: int = 2000) -> Path:
    """A document whose `training.sources` covers 2,000 text files in nested, tagged and weighted folders."""
    rng = random.Random(2)
    corpus = root / "corpus"
    for index in range(files):
        folder = corpus / f"area{index % 10}" / f"topic{index % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"note{index}.md").write_text("\n".join(_sentence(rng) for _ in range(20)) + "\n", encoding="utf-8")
    for area in range(10):
        config = corpus / f"area{area}" / ".dlm"
        config.mkdir(exist_ok=True)
        (config / "training.yaml").write_text(
            f"dlm_training_version: 1\nmetadata:\n  area: a{area}\nweights:\n  area:\n    a{area}: {0.5 + area * 0.25}\n",
            encoding="utf-8",
        )
    doc = root / "tree.dlm"
    doc.write_text(HEAD + "  sources:\n    - path: corpus\n      include: ['**/*.md']\n---\n\nA tree.\n", encoding="utf-8")
    return doc


OURS = textwrap.dedent(
    """
    import sys, time, json
    from pathlib import Path
    from dlm_desktop.core.document.parse import parse_file
    from dlm_desktop.core.document.pipeline import load_document
    from dlm_desktop.core.document.rows import sections_to_rows
    from dlm_desktop.core.document.sources import expand_sources
    from dlm_desktop.core.document.weights import expand_rows_by_weight, merge_weights_maps
    path, repeat = Path(sys.argv[1]), int(sys.argv[2])

    def same_stages_as_upstream():
        parsed = parse_file(path)
        sections, weights = list(parsed.sections), {}
        if parsed.frontmatter.training.sources is not None:
            result = expand_sources(parsed.frontmatter, path.parent, document_path=path)
            sections += list(result.sections)
            weights = merge_weights_maps(d.config.weights for d in result.discovered if d.config is not None)
        rows = sections_to_rows(sections)
        if weights:
            rows = expand_rows_by_weight(rows, weights, seed=parsed.frontmatter.training.seed)
        return rows

    def best_of(job):
        best = 1e9
        for _ in range(repeat):
            start = time.perf_counter(); out = job(); best = min(best, time.perf_counter() - start)
        return best, out

    seconds, rows = best_of(same_stages_as_upstream)
    full, report = best_of(lambda: load_document(path))
    print(json.dumps({"seconds": seconds, "rows": len(rows), "full_seconds": full}))
    """
)

UPSTREAM = textwrap.dedent(
    """
    import sys, time, json
    from pathlib import Path
    from dlm.doc.parser import parse_file
    from dlm.data.sections_to_rows import sections_to_rows
    from dlm.data.weighted_rows import expand_rows_by_weight, merge_weights_maps
    path, repeat = Path(sys.argv[1]), int(sys.argv[2])

    def run():
        parsed = parse_file(path)
        sections = list(parsed.sections)
        weights = {}
        if parsed.frontmatter.training.sources is not None:
            from dlm.directives import expand_sources
            result = expand_sources(parsed, base_path=path.parent)
            sections += list(result.sections)
            weights = merge_weights_maps(tuple(d.config.weights for d in result.discovered if d.config is not None))
        rows = sections_to_rows(sections)
        if weights:
            rows = expand_rows_by_weight(rows, weights, seed=parsed.frontmatter.training.seed)
        return rows

    best = 1e9
    for _ in range(repeat):
        start = time.perf_counter(); rows = run(); best = min(best, time.perf_counter() - start)
    print(json.dumps({"seconds": best, "rows": len(rows)}))
    """
)


def ensure_upstream_python(explicit: str | None) -> str:
    """An interpreter with upstream `dlm` importable: the one given, or a throwaway venv made once."""
    if explicit:
        return explicit
    venv = OUT / "upstream-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print("installing upstream document-language-model into", venv, "(benchmark only)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run(pip + ["--no-deps", "document-language-model==0.10.0"], check=True)
        subprocess.run(pip + ["pydantic", "pyyaml", "python-ulid", "packaging"], check=True)
    return str(python)


def time_side(python: str, script: str, doc: Path, repeat: int) -> dict:
    result = subprocess.run([python, "-c", script, str(doc), str(repeat)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"benchmark side failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def megabytes_read(doc: Path) -> float:
    if "sources" not in doc.read_text():
        return doc.stat().st_size / 1e6
    return sum(p.stat().st_size for p in doc.parent.rglob("*.md")) / 1e6 + doc.stat().st_size / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-python", help="an interpreter where upstream `dlm` is importable")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    upstream = ensure_upstream_python(args.upstream_python)
    busy = busy_fraction()
    if busy > 0.25:
        print(f"warning: the machine is {busy:.0%} busy; figures will be noisy (2-core timings swing under load)")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.dlm"
        write_big_document(big)
        tree = write_source_tree(Path(tmp) / "tree")
        for label, doc in (("2,000-section document", big), ("2,000-file source tree", tree)):
            size = megabytes_read(doc)
            ours_runs, theirs_runs = [], []
            for _ in range(2):  # alternate A/B so drifting load hits both sides
                ours_runs.append(time_side(sys.executable, OURS, doc, args.repeat))
                theirs_runs.append(time_side(upstream, UPSTREAM, doc, args.repeat))
            ours = min(r["seconds"] for r in ours_runs)
            theirs = min(r["seconds"] for r in theirs_runs)
            same = ours_runs[0]["rows"] == theirs_runs[0]["rows"]
            print(
                f"{label}: {size:.2f} MB, {ours_runs[0]['rows']} rows after the mix"
                f" ({'same' if same else 'DIFFERENT'} row count as upstream)\n"
                f"  dlm-desktop {size / ours:8.2f} MB/s ({ours * 1000:.0f} ms; whole load_document with split and"
                f" routing: {min(r['full_seconds'] for r in ours_runs) * 1000:.0f} ms)\n"
                f"  upstream    {size / theirs:8.2f} MB/s ({theirs * 1000:.0f} ms)\n"
                f"  speed ratio dlm-desktop / upstream: {theirs / ours:.2f}x"
            )


if __name__ == "__main__":
    main()
