"""Document bodies for parity cases: prose, instruction and preference sections, fences, markers, errors."""

from __future__ import annotations

import random

from gen_common import ADAPTER_NAMES, code_block, paragraph, sentence, sprinkle_unicode, words


def marker_lines(r: random.Random, kind: str, feats: list[str], valid: bool = True) -> list[str]:
    """Metadata marker comments that may lead an instruction or preference section."""
    out: list[str] = []
    if r.random() < 0.3:
        out.append(f'<!-- dlm-auto-harvest: source="{r.choice(["run_3_sway", "", "x y", "é"])}" -->')
        feats.append("marker_harvest")
    if kind == "preference" and r.random() < 0.4:
        attrs = {"judge_name": r.choice(["sway", "human", ""]),
                 "judge_score_chosen": r.choice(["0.9", "1", "-2.5e3", " 1.5", "1_0"]),
                 "judge_score_rejected": r.choice(["0.1", "0", "inf" if not valid else "0.3"]),
                 "mined_at": r.choice(["2026-04-24T10:18:42Z", "2026-04-24", "2026-04-24T10:18:42+02:00",
                                       "20260424T101842"]),
                 "mined_run_id": r.choice(["1", "7", "+3", "1_2"])}
        if not valid:
            bad = r.randrange(6)
            if bad == 0:
                attrs.pop(r.choice(list(attrs)))
            elif bad == 1:
                attrs["mined_run_id"] = r.choice(["0", "-1", "x", "1.5"])
            elif bad == 2:
                attrs["mined_at"] = r.choice(["yesterday", "2026-13-01", "24/04/2026"])
            elif bad == 3:
                attrs["judge_score_chosen"] = r.choice(["nan", "high", "1e999"])
            elif bad == 4:
                attrs["extra"] = "1"
            else:
                out.append("<!-- dlm-auto-mined:judge_name=\"x\" -->")
                feats.append("marker_mined_bad_syntax")
                return out
            feats.append(f"marker_mined_invalid_{bad}")
        items = list(attrs.items())
        r.shuffle(items)
        out.append("<!-- dlm-auto-mined: " + " ".join(f'{k}="{v}"' for k, v in items) + " -->")
        feats.append("marker_mined")
    if kind == "instruction" and r.random() < 0.4:
        attrs = {"synth_teacher": r.choice(["self", "gpt", "é"]), "synth_strategy": r.choice(["extraction", "qa"]),
                 "synth_at": r.choice(["2026-04-24T10:18:42Z", "2026-04-24"]),
                 "source_section_id": "".join(r.choice("0123456789abcdef") for _ in range(16))}
        if not valid:
            bad = r.randrange(5)
            if bad == 0:
                attrs.pop(r.choice(list(attrs)))
            elif bad == 1:
                attrs["source_section_id"] = r.choice(["ABCDEF0123456789", "abc", "g" * 16])
            elif bad == 2:
                attrs["synth_teacher"] = ""
            elif bad == 3:
                attrs["synth_at"] = "soon"
            else:
                attrs["synth_teacher"] = 'x" y="z'
            feats.append(f"marker_synth_invalid_{bad}")
        out.append("<!-- dlm-auto-synth: " + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + " -->")
        feats.append("marker_synth")
    if r.random() < 0.02:
        # a near-miss marker stays content
        out.append(r.choice(['<!-- dlm-auto-harvest: source="x"-->', '<!--dlm-auto-harvest: source="x" -->',
                             '<!-- dlm-auto-harvest: source="x" --> ', "<!-- dlm-auto-synth -->"]))
        feats.append("marker_near_miss")
    return out


def header(r: random.Random, text: str, feats: list[str]) -> str:
    roll = r.random()
    if roll < 0.85:
        return text
    feats.append("header_padded")
    return r.choice([text + " ", text + "\t", "  " + text, text + "\xa0", "\u3000" + text, text + "  "])


def qa_body(r: random.Random, feats: list[str], long: bool) -> list[str]:
    out: list[str] = []
    for i in range(r.randint(1, 4 if long else 1)):
        if i:
            out.extend([""] * r.randint(1, 2))
            feats.append("multi_paragraph")
        if r.random() < 0.2:
            out.extend(code_block(r, feats, tricky=r.random() < 0.3, qa_headers=r.random() < 0.1))
            feats.append("code_in_answer")
        else:
            out.extend(paragraph(r, feats))
    return out


def instruction_body(r: random.Random, feats: list[str]) -> list[str]:
    out: list[str] = []
    if r.random() < 0.2:
        out.append("")
    for i in range(r.randint(1, 4)):
        if i:
            out.extend([""] * r.choice([0, 1, 1, 2]))
        q = "### Q !probe" if r.random() < 0.15 else "### Q"
        if q != "### Q":
            feats.append("probe")
        out.append(header(r, q, feats))
        out.extend(qa_body(r, feats, long=r.random() < 0.3))
        if r.random() < 0.4:
            out.append("")
        out.append(header(r, "### A", feats))
        out.extend(qa_body(r, feats, long=r.random() < 0.6))
        if r.random() < 0.15:
            out.extend(["", sentence(r)])
            feats.append("prose_between_pairs")
        if r.random() < 0.05:
            out.append("### Q " + words(r, 1, 3))  # not a header: absorbed into the answer
            feats.append("inline_q_in_answer")
    if r.random() < 0.3:
        out.extend([""] * r.randint(1, 3))
        feats.append("trailing_blank")
    return out


def instruction_body_invalid(r: random.Random, feats: list[str]) -> list[str]:
    problem = r.randrange(8)
    feats.append(f"qa_invalid_{problem}")
    good = instruction_body(r, feats)
    if problem == 0:
        return ["### Q " + sentence(r), "### A", sentence(r)]
    if problem == 1:
        return good + ["", "### Q", sentence(r)]
    if problem == 2:
        return ["### A", sentence(r)] + good
    if problem == 3:
        return ["### Q", "", "### A", sentence(r)]
    if problem == 4:
        return good + ["### Q", sentence(r), "### A", "   "]
    if problem == 5:
        return [sentence(r), ""] + good
    if problem == 6:
        return r.choice([[], [""], ["", "  ", ""]])
    return ["### Q", sentence(r), "### Q", sentence(r), "### A", sentence(r)]


def preference_body(r: random.Random, feats: list[str]) -> list[str]:
    out: list[str] = []
    for i in range(r.randint(1, 3)):
        if i:
            out.extend([""] * r.randint(0, 2))
        for name in ("### Prompt", "### Chosen", "### Rejected"):
            out.append(header(r, name, feats))
            out.extend(paragraph(r, feats)[: r.randint(1, 2)])
    if r.random() < 0.2:
        out.extend([""] * r.randint(1, 2))
    return out


def preference_body_invalid(r: random.Random, feats: list[str]) -> list[str]:
    problem = r.randrange(7)
    feats.append(f"pref_invalid_{problem}")
    if problem == 0:
        return ["### Prompt", sentence(r), "### Rejected", sentence(r), "### Chosen", sentence(r)]
    if problem == 1:
        return ["### Prompt", sentence(r), "### Chosen", sentence(r)]
    if problem == 2:
        return ["### Prompt " + sentence(r), "### Chosen", sentence(r), "### Rejected", sentence(r)]
    if problem == 3:
        return ["### Prompt", "", "### Chosen", sentence(r), "### Rejected", sentence(r)]
    if problem == 4:
        # a blank line inside a body ends it under the preference grammar
        return ["### Prompt", sentence(r), "", sentence(r), "### Chosen", sentence(r), "### Rejected", sentence(r)]
    if problem == 5:
        return [sentence(r)] + preference_body(r, feats)
    return r.choice([[], ["  "]])


def prose_body(r: random.Random, feats: list[str]) -> list[str]:
    out: list[str] = []
    for i in range(r.randint(1, 4)):
        if i:
            out.extend([""] * r.randint(1, 2))
        roll = r.random()
        if roll < 0.15:
            out.extend(code_block(r, feats))
        elif roll < 0.2:
            out.append(r.choice(["::instruction:: ", " ::instruction::", "::instruction::\t", ":: instruction::",
                                 "::instruction :: ", "::preference::  ", "::prose::\xa0"]))
            feats.append("near_fence")
        elif roll < 0.25:
            out.append(r.choice(["### Q", "### A", "### Prompt"]))
            feats.append("header_in_prose")
        elif roll < 0.28:
            out.append('<!-- dlm-auto-harvest: source="x" -->')
            feats.append("marker_in_prose")
        else:
            out.extend(paragraph(r, feats))
    if r.random() < 0.2:
        out.extend([""] * r.randint(1, 3))
    return out


def fence_line(r: random.Random, kind: str, declared: list[str], feats: list[str], route_ok: bool = True) -> str:
    """`::kind::` or a routed `::kind#name::`."""
    if r.random() < 0.35:
        if declared and route_ok and r.random() < 0.9:
            name = r.choice(declared)
        elif route_ok and not declared and r.random() < 0.7:
            name = r.choice(ADAPTER_NAMES)
            feats.append("routed_without_adapters")
        else:
            name = r.choice([n for n in ADAPTER_NAMES if n not in declared] or ["other"])
            feats.append("routed_undeclared")
        feats.append(f"routed_{kind}")
        return f"::{kind}#{name}::"
    return f"::{kind}::"


def build_body(r: random.Random, feats: list[str], declared: list[str], *, invalid: bool = False,
               allow_odd: bool = True) -> list[str]:
    """Body lines: leading prose (or not) and a run of fenced sections."""
    lines: list[str] = []
    if r.random() < 0.2:
        lines.append("")
        feats.append("leading_blank")
    if r.random() < 0.6:
        lines.extend(prose_body(r, feats))
    n_sections = r.randint(1, 6)
    bad_at = r.randrange(n_sections) if invalid else -1
    for idx in range(n_sections):
        if lines and r.random() < 0.8:
            lines.append("")
        if idx == bad_at:
            lines.extend(invalid_section(r, feats, declared))
            continue
        kind = r.choices(["instruction", "preference", "prose"], weights=[5, 2, 2])[0]
        lines.append(fence_line(r, kind, declared, feats, route_ok=not declared or r.random() < 0.97))
        if kind == "instruction":
            lines.extend(marker_lines(r, kind, feats))
            lines.extend(instruction_body(r, feats))
        elif kind == "preference":
            lines.extend(marker_lines(r, kind, feats))
            lines.extend(preference_body(r, feats))
        else:
            if r.random() < 0.1:
                lines.extend(marker_lines(r, "instruction", feats))  # markers are content in prose
            if r.random() < 0.1:
                feats.append("empty_prose_fence")
            else:
                lines.extend(prose_body(r, feats))
    if allow_odd and r.random() < 0.15:
        idx = r.randrange(len(lines)) if lines else 0
        if lines:
            lines[idx] = sprinkle_unicode(r, lines[idx], feats)
    if r.random() < 0.1:
        lines.append(r.choice(["", "", "  ", "\t"]))
    return lines


def invalid_section(r: random.Random, feats: list[str], declared: list[str]) -> list[str]:
    problem = r.randrange(12)
    if problem == 0:
        feats.append("fence_unknown")
        return [r.choice(["::Instruction::", "::weird::", "::mystery#tone::", "::#x::", "::prose-x::", "::-::"]),
                sentence(r)]
    if problem == 1:
        feats.append("fence_bad_suffix")
        return [f"::instruction#{r.choice(['', 'Tone', '1tone', 'tone-name', '_tone', 'a#b', 'x' * 33])}::",
                *instruction_body(r, feats)]
    if problem == 2:
        feats.append("fence_media_bare")
        return [r.choice(["::image::", "::audio::", "::image#x::"]), sentence(r)]
    if problem == 3:
        feats.append("fence_attr")
        return [r.choice(['::image path="fig.png"::', '::image path="fig.png" alt="a fig"::',
                          '::audio path="a.wav" transcript="hello"::', '::image path="a.png"   ::',
                          '::image alt="x"::', '::image path="a" path="b"::', '::image path="a" size="3"::',
                          '::image path="é.png"::', '::instruction path="x"::', '::widget path="x"::',
                          '::image\tpath="x.png"::', '::audio path="a.wav"::', '::prose path="x"::']), sentence(r)]
    if problem == 4:
        feats.append("unterminated_code")
        return ["::instruction::", "### Q", sentence(r), "### A", "```python", "x = 1"]
    if problem == 5:
        feats.append("qa_invalid")
        return ["::instruction::", *instruction_body_invalid(r, feats)]
    if problem == 6:
        feats.append("pref_invalid")
        return ["::preference::", *preference_body_invalid(r, feats)]
    if problem == 7:
        feats.append("marker_invalid")
        kind = r.choice(["instruction", "preference"])
        body = instruction_body(r, feats) if kind == "instruction" else preference_body(r, feats)
        return [f"::{kind}::", *marker_lines(r, kind, feats, valid=False), *body]
    if problem == 8:
        feats.append("routed_undeclared")
        name = r.choice([n for n in ADAPTER_NAMES if n not in declared])
        return [f"::instruction#{name}::", *instruction_body(r, feats)]
    if problem == 9:
        feats.append("empty_instruction")
        return ["::instruction::"]
    if problem == 10:
        feats.append("fence_in_qa_code")
        return ["::instruction::", "### Q", sentence(r), "### A", "```", "### Q", "inside code", "```"]
    feats.append("adjacent_fences")
    return ["::preference::", "::instruction::", *instruction_body(r, feats)]


