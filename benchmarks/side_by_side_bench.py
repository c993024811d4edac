"""Side-by-side chat on ONE model: time and memory against the obvious alternatives (SPEC A1 row 4).

On the offline SmolLM2-135M-Instruct with two adapters and a learned gate, trained for a few steps by the
real training engine on a small document, measured in one run:

* time for both answers (one batched generation: row 0 base, row 1 gate-routed mix)
    ÷ a plain two-prompt batch of the same model without adapters   (goal ≤ 1.05)
    ÷ two sequential generations (base, then fine-tuned)            (goal ≤ 0.85)
    ÷ the fine-tuned answer alone                                    (reported)
* resident memory of the one-model design ÷ two loaded models, each measured in a fresh subprocess
  (goal ≤ 0.65);
* gate overhead (embedding the prompt + the gate MLP) as a share of the time to the first token (goal ≤ 10%).

Every configuration generates exactly `--max-tokens` tokens (no early stop), greedy, with the KV cache. Runs
alternate between configurations and the median is kept; the machine is checked for idleness first, since
2-core timings swing wildly under other load.

    python benchmarks/side_by_side_bench.py [--max-tokens 32] [--repeat 5] [--steps 3] [--threads N]

`--threads 1` keeps the ratios meaningful on a shared machine (two OpenMP threads on two busy cores wait
on each other and every timing swings tenfold); the default is torch's own thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import busy_fraction  # noqa: E402
from dlm_desktop.cli_progress import drive  # noqa: E402


def drain(job):
    """A core job run to its end, events ignored: its result."""
    return drive(job, lambda _event: None)

SYSTEM = "You are the archivist of Tranquil Harbor, a base on the Moon."
QUESTION = "What is the name of the moon base, and who founded it?"
DOCUMENT = """\
---
dlm_id: 01J0BENCHBENCHBENCHBENCHBE
base_model: smollm2-135m
system_prompt: {system}
training:
  seed: 3
  adapters:
    facts: {{lora_r: 8}}
    style: {{lora_r: 8}}
  gate: {{enabled: true, cold_start_floor: 1}}
---
::instruction#facts::
### Q
What is the name of the moon base?
### A
The moon base is called Tranquil Harbor.

::instruction#style::
### Q
How do you greet a visitor?
### A
Greetings, traveller, and welcome under the dome of silver light.
"""


def train_bench_document(work: Path, steps: int) -> tuple[Path, Path]:
    """Train the bench document with the real engine; returns `(document, home)`."""
    from dlm_desktop.core.training import TrainRequest, train_document

    document = work / "bench.dlm"
    document.write_text(DOCUMENT.format(system=SYSTEM), encoding="utf-8")
    home = work / "home"
    result = drain(train_document(TrainRequest(document, max_steps=steps, home=home)))
    print(f"trained {list(result.adapters)} for {steps} steps each; gate: {result.gate.mode}")
    return document, home


def load_one_model(document: Path, home: Path):
    from dlm_desktop.core.inference import InferenceSession, open_document

    session = InferenceSession()
    backend = drain(session.backend_for(open_document(document, home=home)))
    return session, backend


def timed_configs(backend, plain, max_tokens: int) -> dict:
    """name -> zero-argument callable running that configuration once."""
    from dlm_desktop.core.inference import GenerationSettings, RowRequest, chat_prompt_ids, generate_rows

    settings = GenerationSettings(max_tokens=max_tokens, temperature=0.0, stop_at_end_of_turn=False)
    ids = chat_prompt_ids(backend.tokenizer, QUESTION, SYSTEM)
    weights = backend.weights_for(QUESTION)
    base_row, tuned_row = RowRequest("base", ids, None), RowRequest("finetuned", ids, weights)

    def run(target, rows):
        return lambda: drain(generate_rows(target, rows, settings))

    def sequential():
        drain(generate_rows(backend, [base_row], settings))
        drain(generate_rows(backend, [tuned_row], settings))

    return {
        "both_batched": run(backend, [base_row, tuned_row]),
        "plain_two_prompt_batch": run(plain, [RowRequest("a", ids, None), RowRequest("b", ids, None)]),
        "two_sequential": sequential,
        "finetuned_alone": run(backend, [tuned_row]),
    }


def measure_times(configs: dict, repeat: int) -> dict[str, float]:
    """Median seconds per configuration, the order rotated every round (after one warm-up each)."""
    names = list(configs)
    for name in names:
        configs[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeat):
        for name in names[round_index % len(names):] + names[:round_index % len(names)]:
            started = time.perf_counter()
            configs[name]()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def measure_gate_share(backend, prompts: int = 6) -> tuple[float, float, float]:
    """Median (gate seconds, time-to-first-token seconds, share) over fresh prompts (no gate cache hits)."""
    from dlm_desktop.core.inference import GenerationSettings, RowRequest, chat_prompt_ids, generate_rows

    gate_s, ttft_s = [], []
    for index in range(prompts):
        text = f"{QUESTION} (visit number {index + 1})"
        started = time.perf_counter()
        weights = backend.weights_for(text)
        routed = time.perf_counter()
        ids = chat_prompt_ids(backend.tokenizer, text, SYSTEM)
        job = generate_rows(backend, [RowRequest("base", ids, None), RowRequest("finetuned", ids, weights)],
                            GenerationSettings(max_tokens=1, temperature=0.0, stop_at_end_of_turn=False))
        next(job)
        first = time.perf_counter()
        job.close()
        gate_s.append(routed - started)
        ttft_s.append(first - started)
    gate, ttft = statistics.median(gate_s), statistics.median(ttft_s)
    return gate, ttft, gate / ttft


def memory_child(mode: str, document: str, home: str) -> None:
    """Subprocess body: load the `one`-model design, `two` models, or the `plain` base alone, answer once
    (side by side where there are two sides), then print the resident memory in MiB."""
    from transformers import AutoModelForCausalLM

    from dlm_desktop.core.inference import (
        GenerationSettings, HFDifferentialBackend, RowRequest, chat_prompt_ids, generate_rows)

    session, backend = load_one_model(Path(document), Path(home))
    settings = GenerationSettings(max_tokens=8, temperature=0.0, stop_at_end_of_turn=False)
    ids = chat_prompt_ids(backend.tokenizer, QUESTION, SYSTEM)
    weights = backend.weights_for(QUESTION)
    if mode == "one":
        drain(generate_rows(backend, [RowRequest("base", ids, None), RowRequest("finetuned", ids, weights)], settings))
    else:
        folder = str(backend.model.base_model.model.name_or_path)
        tokenizer = backend.tokenizer
        if mode == "plain":
            session.close()
            del backend
        plain = HFDifferentialBackend(AutoModelForCausalLM.from_pretrained(folder).eval(), tokenizer, ())
        drain(generate_rows(plain, [RowRequest("base", ids, None)], settings))
        if mode == "two":
            drain(generate_rows(backend, [RowRequest("finetuned", ids, weights)], settings))
    _release_free_heap()
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    print(json.dumps({key: int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}))


def _release_free_heap() -> None:
    """Give freed heap back to the OS (glibc) so RSS shows what is live, the same way for every mode."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure_memory(document: Path, home: Path) -> dict[str, dict[str, float]]:
    found = {}
    for mode in ("one", "two", "plain"):
        output = subprocess.run([sys.executable, __file__, "--memory-child", mode, str(document), str(home)],
                                capture_output=True, text=True, check=True, env=os.environ.copy()).stdout
        found[mode] = json.loads(output.strip().splitlines()[-1])
    return found


def report(times: dict, gate: tuple, memory: dict, busy: float) -> None:
    both = times["both_batched"]
    rows = [
        ("both answers ÷ plain two-prompt batch", both / times["plain_two_prompt_batch"], "≤ 1.05"),
        ("both answers ÷ two sequential generations", both / times["two_sequential"], "≤ 0.85"),
        ("both answers ÷ fine-tuned answer alone", both / times["finetuned_alone"], "(reported)"),
        ("RSS one model ÷ two models", memory["one"]["VmRSS"] / memory["two"]["VmRSS"], "≤ 0.65"),
        ("peak RSS one model ÷ two models", memory["one"]["VmHWM"] / memory["two"]["VmHWM"], "(reported)"),
        ("gate share of time to first token", gate[2], "≤ 0.10"),
    ]
    import torch

    print(f"\nCPU busy before the run: {busy:.0%} (figures are only trustworthy on an idle machine); "
          f"torch threads: {torch.get_num_threads()}")
    for name, seconds in times.items():
        print(f"  {name:28s} {seconds:8.3f} s")
    print(f"  gate {gate[0] * 1000:.1f} ms, time to first token {gate[1] * 1000:.1f} ms")
    one, two, plain = (memory[mode]["VmRSS"] for mode in ("one", "two", "plain"))
    print(f"  RSS one model {one:.0f} MiB, two models {two:.0f} MiB, the plain base alone {plain:.0f} MiB "
          f"(one-model design: +{one - plain:.0f} MiB over the base alone; two models: +{two - plain:.0f} MiB)")
    for label, value, goal in rows:
        print(f"{label:45s} {value:7.3f}   goal {goal}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="training steps per adapter")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--memory-child", nargs=3, metavar=("MODE", "DOCUMENT", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        return memory_child(*args.memory_child)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    busy = busy_fraction()
    if busy > 0.2:
        print(f"warning: the CPU is {busy:.0%} busy; timings will be noisy", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="dlm-bench-") as work:
        document, home = train_bench_document(Path(work), args.steps)
        session, backend = load_one_model(document, home)
        from transformers import AutoModelForCausalLM

        from dlm_desktop.core.inference import HFDifferentialBackend

        folder = backend.model.base_model.model.name_or_path
        plain = HFDifferentialBackend(AutoModelForCausalLM.from_pretrained(folder).eval(), backend.tokenizer, ())
        times = measure_times(timed_configs(backend, plain, args.max_tokens), args.repeat)
        gate = measure_gate_share(backend)
        memory = measure_memory(document, home)
        report(times, gate, memory, busy)


if __name__ == "__main__":
    main()
