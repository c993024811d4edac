"""Training throughput of the engine's step against a plain transformers step, on real SmolLM2-135M (CPU).

One optimizer step over the training rows of the bundled example, LoRA r=8 on q/k/v/o, fp32, measured several
ways in alternation (so a change in machine load hits all of them alike):

* `engine`: the engine's layout (`batching.step_batches`): whichever of `sorted` and `packed-longest` its
  cost estimate (`batching.layout_cost`) finds cheaper for the step;
* `sorted`: no packing: length-sorted rows right-padded without a mask, cut by `batching.micro_batches`,
  head on targets only (`forward.loss_sum`);
* `packed-longest`: short rows packed into rows no longer than the longest (`batching.pack_sequences`,
  restarting position ids), then cut the same way;
* `packed`: all rows packed into one sequence with restarting position ids (transformers then masks
  attention between rows), head on targets only;
* `reference`: one padded batch with an attention mask through `model(input_ids, labels=...)`: the head on
  every position (the usual transformers/TRL way, without activation checkpointing).

Prints real tokens per second (best of the rounds: the figure least disturbed by other load) and the ratio
to `reference`, in wall time and in CPU time of this process. Other load on the CPU makes 2-thread steps
much slower (threads wait on each other); the script prints how busy the CPU was outside this process. On a
shared machine, compare the variants with `--threads 1` and the CPU-time ratios.

    python benchmarks/training_throughput.py [--rounds 5] [--threads N] [--variants engine,sorted,...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_ticks, own_cpu  # noqa: E402
EXAMPLE = ROOT / "resources" / "examples" / "getting-started.dlm"


def _load():
    import torch
    from transformers import AutoModelForCausalLM

    from dlm_desktop.core.document.pipeline import load_document
    from dlm_desktop.core.models import bring_up_tokenizer, resolve_base
    from dlm_desktop.core.training.adapters import attach_adapters
    from dlm_desktop.core.training.examples import build_examples
    from dlm_desktop.core.training.hparams import adapter_hparams
    from dlm_desktop.core.training.session import relay_model_progress

    report = load_document(EXAMPLE)
    job = relay_model_progress(resolve_base("smollm2-135m", offline=True))
    while True:
        try:
            next(job)
        except StopIteration as done:
            resolved = done.value
            break
    tokenizer = bring_up_tokenizer(resolved.local_dir).tokenizer
    examples = build_examples(report.train_rows, tokenizer, max_len=512,
                              system_prompt=report.frontmatter.system_prompt).examples
    model = AutoModelForCausalLM.from_pretrained(str(resolved.local_dir), dtype=torch.float32,
                                                 attn_implementation="sdpa")
    adapters = adapter_hparams(report.frontmatter.training, resolved.spec.target_modules)
    peft_model = attach_adapters(model, adapters, seed=0, grew=False)
    peft_model.train()
    return peft_model, examples, tokenizer.pad_token_id


def _run_groups(peft_model, examples, pad_id, groups):
    from dlm_desktop.core.training.forward import collate_packed, loss_sum, model_parts

    parts = model_parts(peft_model.base_model.model)
    targets = sum(example.targets for example in examples)
    for group in groups:
        rows = [[examples[i] for i in sequence] for sequence in group]
        (loss_sum(parts, collate_packed(rows, pad_id, "cpu")) / targets).backward()


def _engine_step(peft_model, examples, pad_id):
    from dlm_desktop.core.training.batching import step_batches

    lengths = [example.length for example in examples]
    _run_groups(peft_model, examples, pad_id, step_batches(lengths, range(len(examples)), 8 * 512))


def _sorted_step(peft_model, examples, pad_id):
    from dlm_desktop.core.training.batching import micro_batches

    lengths = [example.length for example in examples]
    groups = [[[i] for i in group] for group in micro_batches(lengths, range(len(examples)), 8 * 512)]
    _run_groups(peft_model, examples, pad_id, groups)


def _packed_longest_step(peft_model, examples, pad_id):
    from dlm_desktop.core.training.batching import micro_batches, pack_sequences

    lengths = [example.length for example in examples]
    sequences = pack_sequences(lengths, range(len(examples)))
    sizes = [sum(lengths[i] for i in sequence) for sequence in sequences]
    groups = [[sequences[i] for i in group] for group in micro_batches(sizes, range(len(sequences)), 8 * 512)]
    _run_groups(peft_model, examples, pad_id, groups)


def _packed_step(peft_model, examples, pad_id):
    _run_groups(peft_model, examples, pad_id, [[list(range(len(examples)))]])


def _reference_step(peft_model, examples, pad_id):
    import torch

    width = max(example.length for example in examples)
    ids = torch.full((len(examples), width), pad_id)
    labels = torch.full((len(examples), width), -100)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        ids[row, : example.length] = torch.tensor(example.input_ids)
        labels[row, : example.length] = torch.tensor(example.labels)
        mask[row, : example.length] = 1
    peft_model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--variants", default="engine,sorted,packed-longest,packed,reference",
                        help="comma-separated subset of the variants to time")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    peft_model, examples, pad_id = _load()
    tokens = sum(example.length for example in examples)
    known = {"engine": _engine_step, "sorted": _sorted_step, "packed-longest": _packed_longest_step,
             "packed": _packed_step, "reference": _reference_step}
    variants = {name: known[name] for name in args.variants.split(",")}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for step in variants.values():  # warm-up
        step(peft_model, examples, pad_id)
        peft_model.zero_grad(set_to_none=True)
    total0, idle0 = cpu_ticks()
    own0 = own_cpu()
    for _ in range(args.rounds):
        for name, step in variants.items():
            started, cpu_started = time.perf_counter(), own_cpu()
            step(peft_model, examples, pad_id)
            seconds[name].append(time.perf_counter() - started)
            cpu[name].append(own_cpu() - cpu_started)
            peft_model.zero_grad(set_to_none=True)
    total1, idle1 = cpu_ticks()
    ticks = os.sysconf("SC_CLK_TCK")
    busy_other = ((total1 - total0) - (idle1 - idle0)) / ticks - (own_cpu() - own0)
    wall = sum(sum(v) for v in seconds.values())
    print(f"{len(examples)} rows, {tokens} real tokens, {sum(e.targets for e in examples)} targets per step")
    base = "reference" if "reference" in seconds else next(iter(seconds))
    reference = min(seconds[base])
    reference_cpu = min(cpu[base])
    for name, values in seconds.items():
        best, best_cpu = min(values), min(cpu[name])
        print(f"{name:14s} {best:6.2f} s/step  {tokens / best:7.1f} tokens/s  x{reference / best:.2f}   "
              f"cpu {best_cpu:6.2f} s/step  x{reference_cpu / best_cpu:.2f}   "
              f"median {statistics.median(values):6.2f} s, cpu {statistics.median(cpu[name]):6.2f} s")
    print(f"other processes used {busy_other / wall:.2f} CPU cores on average during the measurement")


if __name__ == "__main__":
    main()
