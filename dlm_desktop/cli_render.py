"""Readable terminal renderings of core results (the `--json` forms live on the result objects)."""

from __future__ import annotations

from collections import Counter


def _short(text: str, width: int = 48) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def render_inspect_text(report) -> str:
    """A summary of `load_document`'s report: settings, sections, rows, mix, split, routing, warnings."""
    front = report.frontmatter
    training = front.training
    out = [
        f"document     {report.parsed.path}",
        f"dlm_id       {front.dlm_id}   (schema v{front.dlm_version})",
        f"base model   {front.base_model}",
        f"training     LoRA r={training.lora_r} alpha={training.lora_alpha}, {training.num_epochs} epochs, "
        f"lr {training.learning_rate:g}, seq {training.sequence_len}, seed {training.seed}",
    ]
    if training.adapters:
        names = ", ".join(f"{n} (r={a.lora_r})" for n, a in training.adapters.items())
        out.append(f"adapters     {names}; gate {'on' if training.gate.enabled else 'off'}")
    if front.system_prompt:
        out.append(f"system       {_short(front.system_prompt, 70)}")
    rows_per_section = Counter(row["_dlm_section_id"] for row in report.rows)
    out += ["", f"sections ({len(report.sections)})", "  line  type         adapter      rows  id                first words"]
    for section in report.sections:
        out.append(
            f"  {section.start_line:>4}  {section.type.value:<12} {section.adapter or '-':<12} "
            f"{rows_per_section.get(section.section_id, 0):>4}  {section.section_id}  {_short(section.content, 36)}"
        )
    kinds = Counter(next(k for k in row if not k.startswith("_")) for row in report.rows)
    out += ["", f"rows         {len(report.rows)}  ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items())) or 'none'})"]
    if report.weights:
        mix = "; ".join(f"{k}={v}" for k, values in report.weights.items() for v in [values])
        out.append(f"weights      {mix}")
        out.append(f"after mix    {len(report.expanded_rows)} rows")
    out.append(f"split        {len(report.train_rows)} train / {len(report.val_rows)} validation")
    if report.routing:
        for name, ids in report.routing.items():
            out.append(f"routing      {name}: {len(ids)} section(s)")
    for warning in report.warnings:
        out.append(f"warning      {warning.one_line()}")
    return "\n".join(out) + "\n"
