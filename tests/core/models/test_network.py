"""Network detection is quick and overridable; blocking steps stay cancellable."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from dlm_desktop.core.models import ModelJobCancelled, ModelProgress, is_online
from dlm_desktop.core.models._blocking import run_blocking, wait_for_abandoned


@pytest.fixture
def network_env(monkeypatch):
    for name in ("DLM_DESKTOP_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy",
                 "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def http_server():
    """A local HTTP server that answers every request with 501 (any answer means "online")."""
    server = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def mute_port():
    """A port that accepts TCP connections but never says a word (a transparent firewall, a stuck server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    yield listener.getsockname()[1]
    listener.close()


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_offline_switch_answers_without_probing(network_env, http_server):
    network_env.setenv("HF_ENDPOINT", http_server)
    assert is_online()
    for name in ("DLM_DESKTOP_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        network_env.setenv(name, "1")
        assert not is_online()
        network_env.delenv(name)


def test_an_answering_server_is_online_a_closed_port_is_not(network_env, http_server):
    network_env.setenv("HF_ENDPOINT", http_server)
    assert is_online()
    network_env.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    assert not is_online()
    network_env.setenv("HF_ENDPOINT", "https://hub.invalid")  # no DNS answer
    assert not is_online()


def test_a_mute_connection_is_offline_within_the_timeout(network_env, mute_port):
    network_env.setenv("HF_ENDPOINT", f"http://127.0.0.1:{mute_port}")
    started = time.monotonic()
    assert not is_online(timeout_s=0.5)
    assert time.monotonic() - started < 1.5


def test_requests_go_through_the_configured_proxy(network_env, http_server):
    network_env.setenv("HF_ENDPOINT", "http://hub.invalid")
    assert not is_online(timeout_s=1.0)
    network_env.setenv("HTTP_PROXY", http_server)
    assert is_online()
    network_env.setenv("NO_PROXY", "hub.invalid")
    assert not is_online(timeout_s=1.0)


def _beat(elapsed: float) -> ModelProgress:
    return ModelProgress("convert", "test", "working", None, 0, 0, elapsed)


def test_run_blocking_returns_the_value_and_reraises_errors():
    gen = run_blocking(lambda: 42, heartbeat=_beat, should_stop=lambda: False, interval_s=0.01)
    with pytest.raises(StopIteration) as done:
        next(gen)
    assert done.value.value == 42

    def boom():
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        list(run_blocking(boom, heartbeat=_beat, should_stop=lambda: False))


def test_cancel_returns_at_once_and_the_next_job_waits_for_the_abandoned_call():
    release = threading.Event()
    finished = threading.Event()

    def slow():
        release.wait(10)
        finished.set()

    stop = {"now": False}
    gen = run_blocking(slow, heartbeat=_beat, should_stop=lambda: stop["now"], interval_s=0.01)
    assert next(gen).stage == "test"  # a heartbeat while the call runs
    stop["now"] = True
    with pytest.raises(ModelJobCancelled):
        next(gen)
    assert not finished.is_set()  # the call was abandoned, not awaited

    waiting = wait_for_abandoned(heartbeat=_beat, should_stop=lambda: False)
    assert next(waiting).stage == "test"  # still running: the next job waits
    release.set()
    list(waiting)  # returns once the abandoned call has ended
    assert finished.is_set()
