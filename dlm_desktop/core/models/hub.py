"""Hugging Face hub: find an earlier download in the local hub cache, or download a snapshot with progress.

The cache lookup reads the hub cache layout directly (`models--org--name/snapshots/<commit>/`, `refs/main`),
so it needs neither the network nor huggingface_hub. Downloads use huggingface_hub (imported lazily), fetch
only what training and chat need (config, safetensors weights, tokenizer files) and report bytes as they
arrive. A cancelled download leaves only huggingface_hub's resumable `.incomplete` blobs, never a snapshot
that looks complete.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import time
from collections.abc import Generator
from pathlib import Path

from dlm_desktop.core.models._blocking import run_blocking
from dlm_desktop.core.models.errors import HubDownloadError, HubUnreachableError, ModelJobCancelled
from dlm_desktop.core.models.events import ModelProgress, ShouldStop, never_stop
from dlm_desktop.core.models.network import hub_endpoint

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_WANTED = (
    "config.json", "generation_config.json", "*.safetensors", "model.safetensors.index.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "vocab.json",
    "merges.txt", "added_tokens.json", "chat_template.jinja", "chat_template.json",
)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")


def repo_cache_dir(hf_id: str, cache_dir: Path) -> Path:
    """The folder of one model repository inside a hub cache."""
    return cache_dir / ("models--" + hf_id.replace("/", "--"))


def snapshot_is_complete(folder: Path) -> bool:
    """True when `folder` holds a config, all safetensors weights and a tokenizer."""
    if not (folder / "config.json").is_file() or not any((folder / n).is_file() for n in _TOKENIZER_FILES):
        return False
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, AttributeError):
            return False
        return all((folder / shard).is_file() for shard in shards)
    return (folder / "model.safetensors").is_file()


def find_cached_snapshot(
    hf_id: str, revision: str | None, cache_dir: Path, *, any_revision: bool = False
) -> tuple[Path, str] | None:
    """(snapshot folder, commit) of a complete earlier download of `hf_id`, or None.

    Looks for `revision` (a commit, or None for the `main` branch). With `any_revision`, falls back to the
    cached `main` and then to any complete snapshot (offline use of a registry base downloaded at another
    commit).
    """
    repo = repo_cache_dir(hf_id, cache_dir)
    wanted: list[str] = [revision] if revision else []
    if not revision or any_revision:
        main = _read_ref(repo, "main")
        wanted += [main] if main else []
    if any_revision and (repo / "snapshots").is_dir():
        wanted += sorted(p.name for p in (repo / "snapshots").iterdir())
    for commit in dict.fromkeys(wanted):
        folder = repo / "snapshots" / commit
        if folder.is_dir() and snapshot_is_complete(folder):
            return folder, commit
    return None


def _read_ref(repo: Path, name: str) -> str:
    try:
        value = (repo / "refs" / name).read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return value if _COMMIT.match(value) else ""


def download_snapshot(
    hf_id: str, revision: str | None, *, cache_dir: Path, should_stop: ShouldStop = never_stop
) -> Generator[ModelProgress, None, tuple[Path, str]]:
    """Download what DLM Desktop needs of `hf_id` at `revision` (None = `main`) into the hub cache.

    Yields `ModelProgress(job="download")` events with byte counts; returns (snapshot folder, commit).
    Raises `HubUnreachableError` on any network failure, `HubDownloadError` when the hub refuses (gated,
    unknown repository or revision, no safetensors), `ModelJobCancelled` when `should_stop()` turns True.
    """
    listing = yield from run_blocking(
        lambda: _list_files(hf_id, revision),
        heartbeat=lambda s: ModelProgress("download", "list-files", f"Asking the hub about {hf_id}…", None, 0, 0, s),
        should_stop=should_stop,
    )
    commit, files = listing
    total = sum(size for _, size in files)
    transfer = _Transfer(total)
    worker = threading.Thread(
        target=transfer.run, args=(hf_id, revision, commit, files, cache_dir), name="dlm-hub-download", daemon=True
    )
    worker.start()
    yield from _follow(transfer, worker, hf_id, should_stop)
    folder = repo_cache_dir(hf_id, cache_dir) / "snapshots" / commit
    if not snapshot_is_complete(folder):
        raise HubDownloadError(
            f"The download of {hf_id} finished but the snapshot is incomplete.", path=folder,
            fix="Run it again; if it persists, delete that folder and retry.",
        )
    return folder, commit


def _follow(
    transfer: "_Transfer", worker: threading.Thread, hf_id: str, should_stop: ShouldStop
) -> Generator[ModelProgress, None, None]:
    """Yield byte progress while `worker` downloads; stop it when asked; re-raise its error."""
    started = time.monotonic()
    while worker.is_alive():
        worker.join(0.25)
        if should_stop():
            transfer.cancel.set()
            worker.join(5.0)
            raise ModelJobCancelled(f"Download of {hf_id} stopped.", fix="Start it again; it resumes.")
        done, name = transfer.snapshot()
        fraction = min(1.0, done / transfer.total) if transfer.total else None
        yield ModelProgress(
            "download", "download", f"Downloading {hf_id}: {name}", fraction, done, transfer.total,
            time.monotonic() - started,
        )
    if transfer.error is not None:
        raise _classify(transfer.error, hf_id)
    done, _ = transfer.snapshot()
    yield ModelProgress("download", "downloaded", f"Downloaded {hf_id}.", 1.0, done, transfer.total,
                        time.monotonic() - started)


class _Cancelled(Exception):
    """Raised inside the download thread to abort huggingface_hub's transfer loop."""


class _Transfer:
    """Shared state between the download thread and the generator that reports it."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.cancel = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._done = 0
        self._name = ""

    def add(self, count: int) -> None:
        """Count `count` more bytes (called from huggingface_hub's thread); aborts it once cancelled."""
        if self.cancel.is_set():
            raise _Cancelled()
        with self._lock:
            self._done += count

    def snapshot(self) -> tuple[int, str]:
        """(bytes done, file being downloaded), consistent with each other."""
        with self._lock:
            return self._done, self._name

    def run(self, hf_id: str, revision: str | None, commit: str, files: list, cache_dir: Path) -> None:
        """Download `files` one after the other (the first at the asked revision, so `refs/main` is kept)."""
        from huggingface_hub import hf_hub_download

        try:
            for index, (name, _size) in enumerate(files):
                with self._lock:
                    self._name = name
                hf_hub_download(
                    hf_id, name, revision=(revision or "main") if index == 0 else commit, cache_dir=str(cache_dir),
                    endpoint=hub_endpoint(), tqdm_class=self.reporter_class(),  # type: ignore[arg-type]
                )
        except BaseException as exc:  # handed to the reporting generator
            self.error = exc

    def reporter_class(self) -> type:
        """A tqdm look-alike that forwards byte counts to this transfer (and aborts it when cancelled)."""
        transfer = self

        class _Reporter:
            def __init__(self, *args: object, **kwargs: object) -> None:
                initial = kwargs.get("initial") or 0
                transfer.add(int(initial))  # type: ignore[arg-type]

            def __enter__(self) -> "_Reporter":
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def update(self, count: float | None = 1) -> None:
                transfer.add(int(count or 0))

            def __getattr__(self, name: str):  # close, refresh, set_description, ...: nothing to do
                return lambda *args, **kwargs: None

        return _Reporter


def _list_files(hf_id: str, revision: str | None) -> tuple[str, list[tuple[str, int]]]:
    """(commit, [(file name, size)]) of the files DLM Desktop needs at `revision`."""
    from huggingface_hub import HfApi

    try:
        info = HfApi(endpoint=hub_endpoint()).model_info(hf_id, revision=revision or "main", files_metadata=True)
    except Exception as exc:
        raise _classify(exc, hf_id) from exc
    names = [(s.rfilename, int(s.size or 0)) for s in info.siblings or []]
    files = [(n, size) for n, size in names if any(fnmatch.fnmatch(n, p) for p in _WANTED)]
    if not any(n.endswith(".safetensors") for n, _ in files):
        raise HubDownloadError(
            f"{hf_id} has no .safetensors weights.",
            fix="Pick a model that publishes safetensors weights (most do), or convert it and use the folder.",
        )
    files.sort(key=lambda item: (item[0] != "config.json", item[0]))
    return str(info.sha), files


def _classify(exc: BaseException, hf_id: str) -> Exception:
    """Turn a huggingface_hub/network exception into one of ours (already ours: returned as is)."""
    from huggingface_hub import errors as hub_errors

    if isinstance(exc, (HubDownloadError, HubUnreachableError, ModelJobCancelled)):
        return exc
    if isinstance(exc, _Cancelled):
        return ModelJobCancelled(f"Download of {hf_id} stopped.", fix="Start it again; it resumes.")
    page = f"https://huggingface.co/{hf_id}"
    if isinstance(exc, hub_errors.GatedRepoError) or _status(exc) in (401, 403):
        return HubDownloadError(
            f"{hf_id} is gated: the hub wants you to accept its licence first.",
            fix=f"Accept the licence at {page}, then log in (`hf auth login`) or set HF_TOKEN, and retry.",
        )
    if isinstance(exc, hub_errors.RepositoryNotFoundError):
        return HubDownloadError(
            f"The hub has no model {hf_id} (or it is private).",
            fix="Check the spelling of the `hf:` reference; for a private model set HF_TOKEN.",
        )
    if isinstance(exc, (hub_errors.RevisionNotFoundError, hub_errors.EntryNotFoundError)):
        return HubDownloadError(
            f"The hub has {hf_id} but not the pinned revision or file: {exc}",
            fix="Update DLM Desktop (the registry pins revisions), or use `hf:` with the current model.",
        )
    return HubUnreachableError(f"Could not download {hf_id}: {type(exc).__name__}: {exc}",
                               fix="Check the internet connection, or work offline with `smollm2-135m`.")


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    return int(getattr(response, "status_code", 0) or 0)
