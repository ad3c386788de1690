"""Refuse every way a model build can fetch or read pretrained weights.

Builders reach weights through torch.hub, ``huggingface_hub`` (timm, transformers), or
transformers' ``from_pretrained``, which reads a populated local cache without touching the
network. Each is replaced, for the length of a build, by a function that fails at once
with one line naming what was refused: a :class:`DownloadRefused` carrying the loader, so
the ladder knows it by its type even when a library wrapped it in its own error. Libraries
bind these functions under their own names at import time (``from torch.hub import
load_state_dict_from_url``), so every loaded module that holds one of them is patched, not
only the module that defines it.

This never imports transformers, timm or huggingface_hub. When one of them is imported
already, the modules of it that hold the loaders are imported too (they are lazy in
transformers), so that a factory reaching ``transformers.AutoModel`` for the first time
still finds the refusals in place. Reading a ``config.json`` from a local folder stays
allowed: it is not a weight.

Below the named loaders, the network itself is closed for the length of a build: an
internet socket's ``connect``, ``socket.create_connection`` and name lookups fail at once
with the same refusal, whatever library tries them and whenever it was imported (a factory
that first imports timm in its own body would otherwise spend a minute in the Hub
client's retries). Unix-domain sockets keep working.
"""

from __future__ import annotations

import importlib
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from pytest_paramform.errors import DownloadRefused, chain
from pytest_paramform.sources.building.stand_ins import ModulesSeen, Swap, standing_in
from pytest_paramform.sources.transformers_compat import WEIGHT_LOADERS

HOW = (
    "build it without weights: torchvision weights=None (and weights_backbone=None), "
    "timm pretrained=False, transformers AutoModel.from_config(config) or the hf:FOLDER spec"
)

# (defining module, function): what downloads, reads a download cache, or opens a
# connection to a model hub.
FUNCTIONS = (
    ("torch.hub", "load_state_dict_from_url"),
    ("torch.hub", "download_url_to_file"),
    ("torch.hub", "load"),
    ("huggingface_hub.file_download", "hf_hub_download"),
    ("huggingface_hub.file_download", "_hf_hub_download_to_cache_dir"),
    ("huggingface_hub.file_download", "_hf_hub_download_to_local_dir"),
    ("huggingface_hub.file_download", "try_to_load_from_cache"),
    ("huggingface_hub.file_download", "get_hf_file_metadata"),
    ("huggingface_hub._snapshot_download", "snapshot_download"),
    ("huggingface_hub.utils._http", "get_session"),
    ("huggingface_hub.utils._http", "http_backoff"),
    ("timm.models._builder", "load_pretrained"),
    ("timm.models._hub", "load_state_dict_from_hf"),
    ("timm.models._hub", "download_cached_file"),
)
# (defining module, class, classmethod): loaders of weights whatever their source.
CLASSMETHODS = (*WEIGHT_LOADERS,)


def refusal(loader: str) -> Callable[..., Any]:
    """A stand-in for ``loader`` that refuses whatever it is asked."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise DownloadRefused(
            f"the model tried to reach a model hub or load pretrained weights ({loader}) "
            f"while it was built; pytest-paramform never downloads or reads weights: {HOW}",
            loader=loader,
        )

    return refuse


def _offline(what: str, loader: str) -> DownloadRefused:
    return DownloadRefused(
        f"the model tried to go online ({what}, {loader}) while it was built; "
        f"pytest-paramform never downloads or reads weights, and a build gets no network: "
        f"{HOW}",
        loader=loader,
    )


def _endpoint(address: object) -> str:
    """``host:port`` of an internet address, as a user would write it."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return repr(address)


_INET = frozenset((socket.AF_INET, socket.AF_INET6))


def _connect_refusal(method: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """``socket.socket.<method>`` refusing internet addresses; a Unix socket connects."""

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in _INET:
            raise _offline(f"a connection to {_endpoint(address)}", f"socket.{method}")
        return original(self, address)

    return connect


def _lookup_refusal(function: str) -> Callable[..., Any]:
    def look_up(host: Any, *args: Any, **kwargs: Any) -> Any:
        raise _offline(f"a name lookup of {host!r}", f"socket.{function}")

    return look_up


def _create_connection_refusal(address: Any, *args: Any, **kwargs: Any) -> Any:
    raise _offline(f"a connection to {_endpoint(address)}", "socket.create_connection")


def _network_swaps() -> list[Swap]:
    """The socket functions every client library ends in, refused for a build."""
    sock = socket.socket
    swaps: list[Swap] = [
        (sock, method, _connect_refusal(method, getattr(sock, method)))
        for method in ("connect", "connect_ex")
    ]
    swaps.append((socket, "create_connection", _create_connection_refusal))
    for function in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        swaps.append((socket, function, _lookup_refusal(function)))
    return swaps


def _loaded(module_name: str) -> ModuleType | None:
    """The module, imported now if its top-level package is imported already."""
    module = sys.modules.get(module_name)
    if module is None and module_name.split(".")[0] in sys.modules:
        try:
            module = importlib.import_module(module_name)
        except Exception:  # another release laid out differently: nothing to refuse there
            return None
    return module


def _originals() -> dict[int, tuple[Any, Callable[..., Any]]]:
    """``id(original) -> (original, replacement)`` for the targets that are loaded."""
    found: dict[int, tuple[Any, Callable[..., Any]]] = {}
    for module_name, name in FUNCTIONS:
        module = _loaded(module_name)
        original = getattr(module, name, None) if module is not None else None
        if original is not None:
            found[id(original)] = (original, refusal(f"{module_name}.{name}"))
    return found


Holder = tuple[ModuleType, str, Any]
# The last scan: for which targets, the modules it had seen, what it found. A scan of every
# module takes milliseconds with transformers loaded and every model build needs one, so
# the next build looks only at the modules imported since (a family's first build imports
# its own); a module removed from sys.modules, or other targets, start afresh.
_scanned: tuple[tuple[int, ...], ModulesSeen, list[Holder]] | None = None


def _holders(names: set[str], originals: dict[int, tuple[Any, Callable[..., Any]]]) -> list[Holder]:
    """Every (module, name, original) where a loaded module binds one of the targets."""
    global _scanned
    key = tuple(sorted(originals))
    added = _scanned[1].added() if _scanned is not None and _scanned[0] == key else None
    if _scanned is None or added is None:
        found = _bindings(list(sys.modules.values()), names, originals)
    else:
        found = _scanned[2] + _bindings(added, names, originals)
    _scanned = (key, ModulesSeen(), found)
    return [h for h in found if vars(h[0]).get(h[1]) is h[2]]


def _bindings(
    modules: list[Any], names: set[str], originals: dict[int, tuple[Any, Callable[..., Any]]]
) -> list[Holder]:
    found: list[Holder] = []
    for module in modules:
        try:
            namespace = vars(module)
        except TypeError:
            continue
        for name in names & namespace.keys():
            value = namespace[name]
            if id(value) in originals and originals[id(value)][0] is value:
                found.append((module, name, value))
    return found


@contextmanager
def hub_refused() -> Iterator[None]:
    """Within this block, the functions above and the network fail with a
    :class:`DownloadRefused`."""
    originals = _originals()
    names = {name for _, name in FUNCTIONS}
    swaps: list[Swap] = [
        (module, name, originals[id(value)][1])
        for module, name, value in _holders(names, originals)
    ]
    swaps += _network_swaps()
    for module_name, class_name, method in CLASSMETHODS:
        owner = getattr(_loaded(module_name), class_name, None)
        if owner is not None and method in vars(owner):
            refuse = refusal(f"{owner.__name__}.{method}")
            swaps.append((owner, method, classmethod(refuse)))
    with standing_in(swaps):
        yield


def refusal_behind(exc: BaseException) -> DownloadRefused | None:
    """Our refusal, when a library caught it and raised its own error instead
    (transformers turns any failure to fetch a config into an ``OSError``)."""
    return next((e for e in chain(exc) if isinstance(e, DownloadRefused)), None)
