"""Is the model hub reachable? A quick answer (at most ~2 s), overridable for tests and air-gapped machines.

`DLM_DESKTOP_OFFLINE=1` (or huggingface's own `HF_HUB_OFFLINE=1` / `TRANSFORMERS_OFFLINE=1`) means offline
without probing. Otherwise one HTTP HEAD request goes to the hub (`HF_ENDPOINT`, default huggingface.co),
through the proxy the environment configures. Any HTTP answer, whatever its status, means online. A bare TCP
connection is not enough: captive portals and transparent firewalls accept connections to any address and
then fail the TLS handshake. The request runs in a daemon thread so that a slow DNS lookup or a stalled
handshake cannot stretch the timeout.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request

OFFLINE_ENV = "DLM_DESKTOP_OFFLINE"
DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = ("1", "true", "yes", "on")


def hub_endpoint() -> str:
    """The hub's base URL: `HF_ENDPOINT` when set (mirrors, tests), else huggingface.co."""
    return os.environ.get("HF_ENDPOINT", "").strip().rstrip("/") or DEFAULT_ENDPOINT


def offline_forced() -> bool:
    """True when the environment says not to use the network at all."""
    names = (OFFLINE_ENV, "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in names)


def is_online(timeout_s: float = 2.0) -> bool:
    """True when the hub answers an HTTP request within `timeout_s` seconds."""
    if offline_forced():
        return False
    answered: list[bool] = []
    request = urllib.request.Request(hub_endpoint() + "/", method="HEAD")
    opener = urllib.request.build_opener()  # built per call: it reads the proxy settings of the moment

    def probe() -> None:
        try:
            with opener.open(request, timeout=timeout_s):
                answered.append(True)
        except urllib.error.HTTPError:  # an error page is still an answer from the server
            answered.append(True)
        except (OSError, ValueError):  # URLError, DNS, refused, timeout, TLS failure, malformed endpoint
            answered.append(False)

    thread = threading.Thread(target=probe, name="dlm-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(answered and answered[0])
