"""Fixtures for the base-model tests: isolated caches, tiny real models and tokenizers, and a local HTTP server
that speaks the part of the Hugging Face hub protocol huggingface_hub uses to download a snapshot."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TINY_WORDS = ["hello", "world", "user", "assistant", "system", "the", "capital", "of", "france", "is", "paris"]


@pytest.fixture(autouse=True)
def _isolated_model_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here touches the user's model cache or hub cache, and the network is off unless a test says so."""
    monkeypatch.setenv("DLM_DESKTOP_MODEL_CACHE", str(tmp_path / "model-cache"))
    monkeypatch.setenv("DLM_DESKTOP_HF_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("DLM_DESKTOP_OFFLINE", "1")


def make_tiny_tokenizer(
    folder: Path, *, eos: str | None = "<|im_end|>", pad: str | None = None, unk: str | None = "<unk>",
    chat_template: str | None = CHATML_TEMPLATE,
) -> Path:
    """Save a small real word-level tokenizer (transformers fast tokenizer) into `folder`."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<|im_start|>", "<|im_end|>"]
    vocab = {word: index for index, word in enumerate(specials + TINY_WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokens = {"eos_token": eos, "pad_token": pad, "unk_token": unk}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, **{k: v for k, v in tokens.items() if v})
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(folder))
    return folder


def make_tiny_llama(folder: Path) -> Path:
    """Save a tiny random Llama model with a chat tokenizer: a complete transformers model folder."""
    from transformers import LlamaConfig, LlamaForCausalLM

    make_tiny_tokenizer(folder)
    config = LlamaConfig(
        vocab_size=3 + len(TINY_WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512, tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return folder


@pytest.fixture
def tiny_tokenizer():
    """The `make_tiny_tokenizer(folder, eos=..., pad=..., unk=..., chat_template=...)` factory."""
    return make_tiny_tokenizer


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama model folder, built once per session (read-only for tests)."""
    return make_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@dataclass
class FakeRepo:
    """One repository served by the fake hub. `mode`: ok, gated, broken (HTTP 503)."""

    folder: Path
    sha: str
    mode: str = "ok"
    delay_s: float = 0.0  # pause before sending each weight file's body (lets a test cancel mid-download)


@dataclass
class FakeHub:
    """A local hub: `repos` maps "org/name" to a `FakeRepo`; `requests` logs "METHOD path" lines."""

    url: str
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def add(self, hf_id: str, folder: Path, **kwargs) -> FakeRepo:
        sha = hashlib.sha1(hf_id.encode()).hexdigest()
        self.repos[hf_id] = FakeRepo(folder=folder, sha=sha, **kwargs)
        return self.repos[hf_id]


class _HubServer(ThreadingHTTPServer):
    """The HTTP server of a `FakeHub` (handlers reach the hub through `self.server.hub`)."""

    daemon_threads = True

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub
        super().__init__(("127.0.0.1", 0), _HubHandler)


class _HubHandler(BaseHTTPRequestHandler):
    """Answers `GET /api/models/<id>/revision/<rev>` and `HEAD|GET /<id>/resolve/<rev>/<file>`."""

    server: _HubServer

    def log_message(self, *args) -> None:  # keep the test output clean
        return None

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, *, body: bool) -> None:
        self.server.hub.requests.append(f"{self.command} {self.path}")
        path = self.path.split("?")[0]
        if path.startswith("/api/models/"):
            return self._info(path[len("/api/models/"):], body)
        parts = path.lstrip("/").split("/", 4)  # org, name, "resolve", revision, file
        if len(parts) == 5 and parts[2] == "resolve":
            return self._file(f"{parts[0]}/{parts[1]}", parts[4], body)
        self._error(404, "EntryNotFound", body)

    def _repo(self, hf_id: str, body: bool) -> FakeRepo | None:
        repo = self.server.hub.repos.get(hf_id)
        if repo is None:
            self._error(404, "RepoNotFound", body)
        elif repo.mode == "gated":
            self._error(403, "GatedRepo", body)
        elif repo.mode == "broken":
            self._error(503, "", body)
        else:
            return repo
        return None

    def _info(self, rest: str, body: bool) -> None:
        org, name = rest.split("/")[:2]
        repo = self._repo(f"{org}/{name}", body)
        if repo is None:
            return
        siblings = [{"rfilename": p.name, "size": p.stat().st_size} for p in sorted(repo.folder.iterdir())]
        payload = json.dumps({"id": f"{org}/{name}", "sha": repo.sha, "siblings": siblings}).encode()
        self._send(200, payload, {"Content-Type": "application/json"}, body)

    def _file(self, hf_id: str, name: str, body: bool) -> None:
        repo = self._repo(hf_id, body)
        if repo is None:
            return
        path = repo.folder / name
        if not path.is_file():
            return self._error(404, "EntryNotFound", body)
        data = path.read_bytes()
        headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{hashlib.sha256(data).hexdigest()}"'}
        if body and name.endswith(".safetensors"):
            time.sleep(repo.delay_s)
        self._send(200, data, headers, body)

    def _error(self, status: int, code: str, body: bool) -> None:
        self._send(status, b'{"error": "fake hub"}', {"X-Error-Code": code} if code else {}, body)

    def _send(self, status: int, data: bytes, headers: dict, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(data)


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch):
    """A running fake hub on 127.0.0.1; the environment is switched online and `HF_ENDPOINT` points at it."""
    hub = FakeHub(url="")
    server = _HubServer(hub)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    import huggingface_hub.constants as hub_constants

    for name in ("DLM_DESKTOP_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)  # read once at import by huggingface_hub
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    yield hub
    server.shutdown()
    server.server_close()
    thread.join(5)
