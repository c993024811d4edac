"""The `api` backend against a REAL OpenAI-compatible server: llama-cpp-python's server on 127.0.0.1, serving
the offline SmolLM2 (converted to GGUF by the export code) as `smollm2-base` and, with a LoRA adapter GGUF,
as `smollm2-doc`. Its numbers are compared with the hf backend on the same weights and adapter."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dlm_desktop.core.inference import (
    ApiBackendError,
    HFDifferentialBackend,
    build,
    js_divergence,
    run_probes,
)

pytestmark = pytest.mark.slow

PROMPTS = ["The capital of France is", "Once upon a time, there was a", "The moon base is called"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the llama.cpp server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/models", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the llama.cpp server did not come up")


def random_smollm2_adapter(model_dir: Path, out_dir: Path, *, std: float = 0.02) -> Path:
    """A LoRA adapter for SmolLM2 (r=8 on q/v) whose B is random, so it changes the model noticeably."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                                  lora_dropout=0.0))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
    peft_model.save_pretrained(str(out_dir))
    return out_dir


@pytest.fixture(scope="module")
def served(tmp_path_factory, offline_smollm2_dir):
    """`(backend spec, adapter folder)` with the server running for the whole module."""
    import uvicorn  # noqa: F401 - the dev extra installs llama-cpp-python[server]; missing it is a failure
    from dlm_desktop.core.export.gguf_base import write_base_gguf
    from dlm_desktop.core.export.gguf_lora import write_adapter_gguf
    from dlm_desktop.core.export.lora_weights import read_peft_adapter

    root = tmp_path_factory.mktemp("inference-api")
    base_gguf = root / "base.F16.gguf"
    job = write_base_gguf(offline_smollm2_dir, base_gguf, outtype="F16")
    for _ in job:
        pass
    adapter_dir = random_smollm2_adapter(offline_smollm2_dir, root / "adapter")
    config = json.loads((offline_smollm2_dir / "config.json").read_text())
    adapter_gguf = write_adapter_gguf(read_peft_adapter(adapter_dir), config, root / "adapter.gguf").path
    port = free_port()
    models = [{"model": str(base_gguf), "model_alias": "smollm2-base", "n_ctx": 512, "verbose": False},
              {"model": str(base_gguf), "model_alias": "smollm2-doc", "n_ctx": 512, "lora_path": str(adapter_gguf),
               "verbose": False}]
    config_file = root / "server.json"
    config_file.write_text(json.dumps({"host": "127.0.0.1", "port": port, "models": models}))
    log = (root / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--config_file", str(config_file)],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_serving(url, process)
        spec = {"kind": "api", "base": {"url": url, "model": "smollm2-base"}, "adapter": "smollm2-doc",
                "options": {"vocab_size": 49152, "timeout_s": 120}}
        yield spec, adapter_dir
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def hf_same_weights(served, offline_smollm2_dir):
    """The hf backend with the same base folder and the same PEFT adapter the server was given as GGUF."""
    _, adapter_dir = served
    return HFDifferentialBackend.load(offline_smollm2_dir, {"default": adapter_dir})


def dists(opener, prompts, k=20):
    with opener() as view:
        return view.next_token_dist_batch(prompts, k)


def test_next_token_distributions_match_the_hf_backend_on_the_same_weights(served, hf_same_weights):
    api = build(served[0])
    tokenizer = hf_same_weights.tokenizer
    for side in ("as_base", "as_finetuned"):
        remote = dists(getattr(api, side), PROMPTS)
        local = dists(getattr(hf_same_weights, side), PROMPTS)
        for far, near in zip(remote, local):
            by_text = dict(zip(far.token_texts, far.logprobs))
            assert far.token_texts[0] == tokenizer.decode([near.token_ids[0]])
            for token_id, logprob in list(zip(near.token_ids, near.logprobs))[:5]:
                assert by_text[tokenizer.decode([token_id])] == pytest.approx(logprob, abs=0.03)
            assert far.vocab_size == 49152 and far.log_tail_mass < 0
    # and the divergence the api backend measures is the one the hf backend measures
    api_js = [js_divergence(b, f) for b, f in zip(dists(api.as_base, PROMPTS), dists(api.as_finetuned, PROMPTS))]
    hf_js = [js_divergence(b, f) for b, f in zip(dists(hf_same_weights.as_base, PROMPTS),
                                                  dists(hf_same_weights.as_finetuned, PROMPTS))]
    assert all(value > 1e-4 for value in hf_js)  # the adapter changes the model
    assert api_js == pytest.approx(hf_js, rel=0.1)


def test_batched_equals_per_prompt_and_views_follow_the_rules(served):
    from dlm_desktop.core.inference import ViewStateError

    api = build(served[0])
    with api.as_finetuned() as view:
        batched = view.next_token_dist_batch(PROMPTS, 10)
        single = [view.next_token_dist(prompt, 10) for prompt in PROMPTS]
        with pytest.raises(ViewStateError):
            with api.as_base():
                pass
    assert [dict(zip(d.token_texts, d.logprobs)) for d in batched] == [
        pytest.approx(dict(zip(d.token_texts, d.logprobs)), abs=1e-6) for d in single]
    with pytest.raises(ViewStateError):
        view.next_token_dist(PROMPTS[0], 5)


def test_sequence_scoring_refuses_a_misaligned_echo_instead_of_returning_wrong_numbers(served):
    api = build(served[0])
    with api.as_base() as view:
        with pytest.raises(ApiBackendError, match="OpenAI layout") as excinfo:
            view.logprob_of("The capital of France is", " Paris")
        with pytest.raises(ApiBackendError, match="OpenAI layout"):
            view.rolling_logprob("The capital of France is Paris.")
    assert "hf backend" in excinfo.value.fix


def test_did_it_learn_over_the_api_gives_the_divergence_and_says_what_is_missing(served):
    from dlm_desktop.core.inference import SectionText

    job = run_probes(build(served[0]), PROMPTS, [SectionText("s", "prose", 1, None, "The moon base is Tranquil.")])
    while True:
        try:
            next(job)
        except StopIteration as finished:
            report = finished.value
            break
    assert report.status == "ok" and report.divergence > 0 and report.z is None and report.verdict is None
    assert report.protocols == ("differential",)
    assert any("no null adapters" in n for n in report.notices) and any("OpenAI layout" in n for n in report.notices)
    json.dumps(report.as_json_dict())


def test_an_unreachable_server_is_a_typed_error_that_says_the_fix():
    api = build({"kind": "api", "base": {"url": f"http://127.0.0.1:{free_port()}/v1", "model": "m"},
                 "adapter": "t", "options": {"timeout_s": 5}})
    with api.as_base() as view:
        with pytest.raises(ApiBackendError, match="cannot reach") as excinfo:
            view.next_token_dist("hello", 3)
    assert "start the server" in excinfo.value.fix
