"""No network while a model is built, whatever library the factory uses: an internet
connection or a name lookup fails at once with the refusal, and the socket module is
exactly as it was afterwards. Unix-domain sockets keep working."""

from __future__ import annotations

import _socket
import socket
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from torch import nn

from pytest_paramform import DownloadRefused, build_report

REFUSED = "never downloads or reads weights"
FUNCTIONS = ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex")


def socket_state() -> tuple[object, ...]:
    """What a build must leave as it found it."""
    own = tuple(name in vars(socket.socket) for name in ("connect", "connect_ex"))
    methods = (socket.socket.connect, socket.socket.connect_ex)
    return (*own, *methods, *(getattr(socket, name) for name in FUNCTIONS))


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that nothing listens on: bound here, never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def refused(attempt: Callable[[], Any]) -> str:
    """The refusal a factory that makes ``attempt`` gets, as the user reads it; it names
    the socket function it refused, as its ``loader`` too."""

    def factory() -> nn.Module:
        attempt()
        return nn.Linear(2, 2)

    before = socket_state()
    with pytest.raises(DownloadRefused) as info:
        build_report(factory)
    assert socket_state() == before
    message = str(info.value)
    assert info.value.loader.startswith("socket.")
    assert f", {info.value.loader}) while it was built" in message
    assert REFUSED in message
    assert "pretrained=False" in message, "it says how to build without weights"
    assert "\n" not in message
    return message


def connect(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.connect(("127.0.0.1", port))


def test_a_tcp_connection_is_refused_and_the_socket_module_restored(closed_port: int) -> None:
    assert f"a connection to 127.0.0.1:{closed_port}, socket.connect" in refused(
        lambda: connect(closed_port)
    )
    assert "connect" not in vars(socket.socket)
    assert socket.socket.connect is _socket.socket.connect
    with pytest.raises(ConnectionRefusedError):  # the real thing, once the build is over
        connect(closed_port)


def test_connect_ex_and_ipv6_are_refused_too(closed_port: int) -> None:
    def connect_ex() -> None:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.connect_ex(("::1", closed_port))

    assert f"a connection to [::1]:{closed_port}, socket.connect_ex" in refused(connect_ex)


@pytest.mark.parametrize(
    "look_up",
    [
        lambda: socket.getaddrinfo("weights.paramform-made-up.invalid", 443),
        lambda: socket.gethostbyname("weights.paramform-made-up.invalid"),
        lambda: socket.create_connection(("weights.paramform-made-up.invalid", 443)),
    ],
    ids=["getaddrinfo", "gethostbyname", "create_connection"],
)
def test_a_name_lookup_is_refused_at_once(look_up: Callable[[], Any]) -> None:
    assert "weights.paramform-made-up.invalid" in refused(look_up)


def test_a_library_that_turns_socket_errors_into_its_own_still_gets_the_refusal(
    closed_port: int,
) -> None:
    """urllib wraps an OSError in URLError; the refusal is not an OSError, so it passes
    through clients and their retry loops unchanged."""
    url = f"http://127.0.0.1:{closed_port}/model.safetensors"
    assert "socket.create_connection" in refused(lambda: urllib.request.urlopen(url, timeout=5))


def test_unix_domain_sockets_keep_working_during_a_build(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)

        def factory() -> nn.Module:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(path)
                assert client.connect_ex(path) != 0, "already connected: an error code"
            return nn.Linear(2, 3)

        before = socket_state()
        assert build_report(factory).num_parameters == 9
        assert socket_state() == before
