"""Modelfile and `ollama create`, against a fake `ollama` that checks what the real one would: the Modelfile
parses (Ollama's rules: no escapes inside quotes), FROM/ADAPTER files exist relative to its cwd, TEMPLATE
compiles with Go's text/template, PARAMETER names are known. It records its argv."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from dlm_desktop.core.export import ModelfileError, validate_ollama_name
from dlm_desktop.core.export.modelfile import ModelfileSpec, collect_stops, ollama_quote, render_modelfile
from dlm_desktop.core.export.ollama import OllamaLocation, create_model, find_ollama
from dlm_desktop.core.store.paths import ollama_lock_path
from tests.core.export.export_helpers import GO_PROGRAM_DIR, drain, go_env, require_go

FAKE_OLLAMA = r'''#!PYTHON
import json, os, subprocess, sys
KNOWN = {"num_keep", "seed", "num_predict", "top_k", "top_p", "min_p", "typical_p", "repeat_last_n",
         "temperature", "repeat_penalty", "presence_penalty", "frequency_penalty", "stop", "num_ctx",
         "num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread"}
COMMANDS = {"from", "adapter", "template", "system", "parameter", "license", "message"}
if sys.argv[1:] == ["--version"]:
    print("ollama version is 0.6.2"); sys.exit(0)
log = {"argv": sys.argv[1:], "cwd": os.getcwd(), "commands": []}
lock = os.environ.get("FAKE_OLLAMA_LOCK", "")
log["lock"] = open(lock).read() if lock and os.path.exists(lock) else None
def parse(text):
    out, i = [], 0
    lines = text.split("\n")
    while i < len(lines):
        line = lines[i].strip(); i += 1
        if not line or line.startswith("#"): continue
        word, _, rest = line.partition(" ")
        if word.lower() not in COMMANDS: raise SystemExit(f"Error: unknown command {word}")
        name = word.lower()
        if name == "parameter":
            name, _, rest = rest.partition(" ")
            if name not in KNOWN: raise SystemExit(f"Error: unknown parameter {name}")
        rest = rest.strip()
        if rest.startswith('"""'):
            while not (len(rest) >= 6 and rest.endswith('"""')):
                if i >= len(lines): raise SystemExit("Error: unterminated \"\"\"")
                rest += "\n" + lines[i]; i += 1
            value = rest[3:-3]
        elif rest.startswith('"'):
            if not (len(rest) >= 2 and rest.endswith('"')): raise SystemExit("Error: unterminated quote")
            value = rest[1:-1]
        else:
            value = rest
        out.append([name, value])
    return out
args = sys.argv[1:]
assert args[0] == "create" and args[2] == "-f", args
commands = parse(open(args[3], encoding="utf-8").read())
log["commands"] = commands
for name, value in commands:
    if name in ("from", "adapter") and not os.path.isfile(os.path.join(os.getcwd(), value)):
        raise SystemExit(f"Error: {value} not found")
    if name == "template":
        check = subprocess.run([os.environ["FAKE_GO"], "run", "main.go"], input=json.dumps({"template": value, "mode": "check"}),
                               capture_output=True, text=True, cwd=os.environ["FAKE_GO_DIR"])
        if check.returncode: raise SystemExit("Error: " + check.stderr)
if not any(n == "from" for n, _ in commands): raise SystemExit("Error: no FROM line")
json.dump(log, open(os.environ["FAKE_OLLAMA_LOG"], "w"))
print("gathering model components"); print("copying file sha256:abc 100%"); print("success")
'''


@pytest.fixture
def fake_ollama(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "ollama"
    script.write_text(FAKE_OLLAMA.replace("#!PYTHON", f"#!{sys.executable}"), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GO", require_go())
    monkeypatch.setenv("FAKE_GO_DIR", str(GO_PROGRAM_DIR))
    monkeypatch.setenv("FAKE_OLLAMA_LOG", str(tmp_path / "ollama-log.json"))
    monkeypatch.setenv("FAKE_OLLAMA_LOCK", str(ollama_lock_path()))
    for key, value in go_env().items():
        if key.startswith("GO"):
            monkeypatch.setenv(key, value)
    return tmp_path / "ollama-log.json"


def write_export(folder: Path, system: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.Q4_K_M.gguf").write_bytes(b"GGUF")
    (folder / "adapter.gguf").write_bytes(b"GGUF")
    text = render_modelfile(ModelfileSpec("base.Q4_K_M.gguf", "adapter.gguf", "chatml", ("<|im_end|>", "<|im_start|>"),
                                          0.7, 0.9, 2048, system=system, license="Apache-2.0", header=("dlm_id: X",)))
    (folder / "Modelfile").write_text(text, encoding="utf-8")
    return folder


def test_ollama_create_runs_with_argv_in_the_export_folder(fake_ollama, tmp_path):
    system = 'Line one\nSay "hi" — then stop.'
    folder = write_export(tmp_path / "export", system)
    location = find_ollama(probe_server=False)
    assert location.executable is not None and location.version == "0.6.2"
    events, outcome = drain(create_model(location, "dlm-test:v0001", folder))
    assert outcome.status == "created", outcome.message
    log = json.loads(fake_ollama.read_text())
    assert log["argv"] == ["create", "dlm-test:v0001", "-f", "Modelfile"] and Path(log["cwd"]) == folder
    commands = dict((name, value) for name, value in log["commands"] if name != "parameter")
    assert commands["system"] == system  # read back exactly, no literal backslashes
    assert commands["from"] == "./base.Q4_K_M.gguf" and commands["adapter"] == "./adapter.gguf"
    assert [e.line for e in events if hasattr(e, "line")][-1] == "success"


def test_ollama_create_runs_under_the_per_user_ollama_lock(fake_ollama, tmp_path):
    lock = ollama_lock_path()
    assert lock == Path(os.environ["DLM_HOME"]).resolve() / "ollama.lock"  # DLM_HOME is honoured
    folder = write_export(tmp_path / "export", None)
    _, outcome = drain(create_model(find_ollama(probe_server=False), "dlm-test:v0001", folder, lock_path=lock))
    assert outcome.status == "created", outcome.message
    held = json.loads(fake_ollama.read_text())["lock"]
    assert held is not None and held.split("\n")[0] == str(os.getpid())  # held by us while ollama ran
    assert not lock.exists()  # and given back


def test_a_held_ollama_lock_is_waited_for_then_reported(fake_ollama, tmp_path, spawn_holder):
    lock = ollama_lock_path()
    folder = write_export(tmp_path / "export", None)
    holder = spawn_holder(lock)
    events, outcome = drain(create_model(find_ollama(probe_server=False), "dlm-test:v0001", folder, lock_path=lock,
                                         lock_timeout_s=1.0))
    assert outcome.status == "failed" and f"PID {holder.pid}" in outcome.message
    assert "ollama create dlm-test:v0001 -f Modelfile" in outcome.message
    assert any("Waiting for another export" in getattr(e, "message", "") for e in events)
    assert not fake_ollama.exists()  # Ollama was never run without the lock
    holder.stdin.close()
    holder.wait(30)
    _, outcome = drain(create_model(find_ollama(probe_server=False), "dlm-test:v0001", folder, lock_path=lock))
    assert outcome.status == "created", outcome.message


@pytest.fixture
def spawn_holder():
    """Start a process that holds a lock file (our store-lock format) until its stdin closes."""
    import subprocess

    children = []

    def spawn(lock: Path):
        code = ("import sys; from dlm_desktop.core.store.lock import StoreLock\n"
                f"lock = StoreLock({str(lock)!r}).acquire(); print('HELD', flush=True)\n"
                "sys.stdin.read(); lock.release()")
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        children.append(child)
        assert child.stdout.readline().strip() == "HELD"
        return child

    yield spawn
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait(30)


def test_missing_files_make_ollama_fail_but_not_the_export(fake_ollama, tmp_path):
    folder = write_export(tmp_path / "export", None)
    (folder / "adapter.gguf").unlink()
    _, outcome = drain(create_model(find_ollama(probe_server=False), "dlm-test:v0001", folder))
    assert outcome.status == "failed" and "adapter.gguf not found" in outcome.message
    assert "ollama create dlm-test:v0001 -f Modelfile" in outcome.command


def test_without_ollama_the_result_says_what_to_run(tmp_path):
    outcome = drain(create_model(OllamaLocation(None, False), "dlm-x:v0002", tmp_path))[1]
    assert outcome.status == "skipped"
    assert outcome.command == f"cd {tmp_path} && ollama create dlm-x:v0002 -f Modelfile"
    assert outcome.command in outcome.message


def test_modelfile_quoting_and_names():
    assert ollama_quote("plain text", what="x") == '"plain text"'
    assert ollama_quote('two\nlines "quoted"', what="x") == '"""two\nlines "quoted""""'
    with pytest.raises(ModelfileError):
        ollama_quote('has """ inside', what="system prompt")
    for good in ("dlm-01abc:v0001", "me/model:latest", "a.b_c-d"):
        assert validate_ollama_name(good) == good
    for bad in ("", "has space", "a..b", "x" * 129, "a:b:c", "/lead"):
        with pytest.raises(ModelfileError):
            validate_ollama_name(bad)


def test_stops_are_dialect_then_eos_then_special_tokens_deduplicated(offline_smollm2_dir):
    stops = collect_stops("chatml", offline_smollm2_dir)
    assert stops[:3] == ("<|im_end|>", "<|endoftext|>", "<|im_start|>")
    assert len(stops) == len(set(stops)) and "<repo_name>" in stops
