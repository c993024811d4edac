"""The `api` differential backend: an OpenAI-compatible `/v1/completions` server with log-probabilities.

One endpoint per side: the base view asks the base model name, the fine-tuned view another model name
(on the same server or another). Only the standard library talks HTTP.

* `next_token_dist`: `max_tokens=1`, `logprobs=k`, temperature 0; the first generated position's
  `top_logprobs` are the distribution after the prompt. Servers name tokens by text, not id, so the
  distribution is keyed by token text; the tail mass is 1 − Σ top-k (the vocabulary size comes from the
  spec's `vocab_size` option when known).
* `logprob_of` / `rolling_logprob`: `echo=true`, `max_tokens=1`, `logprobs=0`, in the OpenAI layout: one
  entry per echoed prompt token with the log-probability of that token given the tokens before it, then the
  generated token. A server whose echo leaves out the generated token (llama-cpp-python 0.3 does, and also
  shifts every echoed log-probability by one position) is detected and refused with `ApiBackendError`,
  rather than returning wrong numbers.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dlm_desktop.core.inference.errors import ApiBackendError, ScoringInputError
from dlm_desktop.core.inference.protocols import RollingLogprob, TokenDist, log_tail_from_topk
from dlm_desktop.core.inference.views import Lease, ViewGuard

_ECHO_FIX = ("score whole sequences with a server whose echoed log-probabilities follow the OpenAI layout "
             "(for example vLLM), or with the hf backend; next-token distributions work with this server")


@dataclass(frozen=True)
class Endpoint:
    """A server base URL (`http://host:port/v1`) and the model name to ask it for."""

    url: str
    model: str

    @property
    def completions_url(self) -> str:
        return self.url.rstrip("/") + "/completions"


class ApiClient:
    """POSTs completion requests and turns every failure into an `ApiBackendError` that says the fix."""

    def __init__(self, *, timeout_s: float = 60.0, api_key: str | None = None) -> None:
        self.timeout_s = timeout_s
        self.api_key = api_key

    def complete(self, endpoint: Endpoint, **fields: Any) -> dict[str, Any]:
        body = json.dumps({"model": endpoint.model, **fields}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(endpoint.completions_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise ApiBackendError(f"{endpoint.completions_url} answered HTTP {exc.code}: {detail}",
                                  fix=f"check that the server serves a model named {endpoint.model!r}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ApiBackendError(f"cannot reach {endpoint.completions_url}: {exc}",
                                  fix="start the server, or correct the URL in the backend spec") from exc
        return _first_logprobs(payload, endpoint)


def _first_logprobs(payload: Any, endpoint: Endpoint) -> dict[str, Any]:
    try:
        logprobs = payload["choices"][0]["logprobs"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ApiBackendError(f"{endpoint.completions_url} answered without choices", fix=_ECHO_FIX) from exc
    if not isinstance(logprobs, dict):
        raise ApiBackendError(f"{endpoint.completions_url} returned no log-probabilities",
                              fix="use a server that supports the `logprobs` field of /v1/completions")
    return logprobs


class ApiView:
    """A scoring view asking one endpoint."""

    def __init__(self, backend: "ApiDifferentialBackend", lease: Lease, endpoint: Endpoint) -> None:
        self._backend, self._lease, self.endpoint = backend, lease, endpoint

    def next_token_dist(self, prompt: str, top_k: int = 64) -> TokenDist:
        self._lease.check()
        if top_k < 1:
            raise ScoringInputError(f"top_k must be at least 1, got {top_k}", fix="ask for one or more tokens")
        logprobs = self._backend.client.complete(self.endpoint, prompt=prompt, max_tokens=1, temperature=0.0,
                                                 logprobs=top_k)
        try:
            top = logprobs["top_logprobs"][0]
            ordered = sorted(((float(v), str(k)) for k, v in top.items()), reverse=True)[:top_k]
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            raise ApiBackendError("the server's top_logprobs cannot be read", fix=_ECHO_FIX) from exc
        values = tuple(value for value, _ in ordered)
        vocab = self._backend.vocab_size
        return TokenDist((), values, vocab, log_tail_from_topk(values, vocab), tuple(t for _, t in ordered))

    def next_token_dist_batch(self, prompts: Sequence[str], top_k: int = 64) -> list[TokenDist]:
        return [self.next_token_dist(prompt, top_k) for prompt in prompts]

    def logprob_of(self, prompt: str, completion: str) -> float:
        self._lease.check()
        entries = self._echo(prompt + completion)
        return float(sum(lp for offset, lp in entries if offset >= len(prompt) and lp is not None))

    def rolling_logprob(self, text: str) -> RollingLogprob:
        self._lease.check()
        return RollingLogprob(tuple(lp for _, lp in self._echo(text) if lp is not None))

    def _echo(self, text: str) -> list[tuple[int, float | None]]:
        """`(text offset, log-prob)` of every token of `text` (the generated token left out)."""
        logprobs = self._backend.client.complete(self.endpoint, prompt=text, max_tokens=1, temperature=0.0,
                                                 logprobs=0, echo=True)
        offsets = list(logprobs.get("text_offset") or [])
        values = list(logprobs.get("token_logprobs") or [])
        if not offsets or len(offsets) != len(values):
            raise ApiBackendError("the server echoed no per-token log-probabilities", fix=_ECHO_FIX)
        if offsets[-1] < len(text):
            raise ApiBackendError(
                "the server's echoed log-probabilities do not follow the OpenAI layout (the generated token is "
                "missing, as with llama-cpp-python, whose echoed values are shifted by one token)", fix=_ECHO_FIX)
        return [(int(o), None if v is None else float(v)) for o, v in zip(offsets, values) if int(o) < len(text)]


class ApiDifferentialBackend:
    """Base and fine-tuned views on two model names of OpenAI-compatible servers."""

    kind = "api"
    protocols = ("differential",)

    def __init__(self, base: Endpoint, finetuned: Endpoint, *, vocab_size: int | None = None,
                 timeout_s: float = 60.0, api_key: str | None = None) -> None:
        self.base, self.finetuned, self.vocab_size = base, finetuned, vocab_size
        self.client = ApiClient(timeout_s=timeout_s, api_key=api_key)
        self.guard = ViewGuard()

    @contextmanager
    def as_base(self) -> Iterator[ApiView]:
        with self.guard.lease("base") as lease:
            yield ApiView(self, lease, self.base)

    @contextmanager
    def as_finetuned(self) -> Iterator[ApiView]:
        with self.guard.lease("finetuned") as lease:
            yield ApiView(self, lease, self.finetuned)
