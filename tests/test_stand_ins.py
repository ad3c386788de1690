"""Stand-ins last as long as the build: every original is back afterwards, even in the
modules that were first imported meanwhile and bound a stand-in under their own names."""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import pytest

from pytest_paramform.sources.building.stand_ins import standing_in


def original() -> str:
    return "original"


def stand_in() -> str:
    return "stand-in"


@pytest.fixture
def library(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A module ``paramform_library`` that defines ``load``, as torch.hub defines its loader."""
    module = types.ModuleType("paramform_library")
    module.load = original  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "paramform_library", module)
    return module


def test_a_stand_in_is_in_place_inside_and_the_original_back_after(
    library: types.ModuleType,
) -> None:
    with standing_in([(library, "load", stand_in)]):
        assert library.load() == "stand-in"
    assert library.load is original


def test_the_original_is_back_when_the_build_fails(library: types.ModuleType) -> None:
    with pytest.raises(ValueError, match="the model failed"), standing_in(
        [(library, "load", stand_in)]
    ):
        raise ValueError("the model failed")
    assert library.load is original


def test_an_inherited_attribute_is_inherited_again_afterwards() -> None:
    class Base:
        def connect(self) -> str:
            return "base"

    class Socket(Base):
        pass

    with standing_in([(Socket, "connect", lambda self: "refused")]):
        assert Socket().connect() == "refused"
    assert "connect" not in vars(Socket)
    assert Socket().connect() == "base"


def test_a_classmethod_is_put_back_as_the_classmethod_it_was() -> None:
    class Model:
        @classmethod
        def from_pretrained(cls) -> str:
            return cls.__name__

    held = vars(Model)["from_pretrained"]
    with standing_in([(Model, "from_pretrained", classmethod(lambda cls: "refused"))]):
        assert Model.from_pretrained() == "refused"
    assert vars(Model)["from_pretrained"] is held
    assert Model.from_pretrained() == "Model"


def test_a_module_first_imported_meanwhile_gets_the_originals_back(
    library: types.ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It bound the stand-in under its own name and kept it in a table, as timm binds
    torch.hub's loader and transformers keeps ``TORCH_INIT_FUNCTIONS``."""
    (tmp_path / "paramform_user.py").write_text(
        "from paramform_library import load\n"
        "TABLE = {'load': load}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with standing_in([(library, "load", stand_in)]):
        user = importlib.import_module("paramform_user")
        assert user.load is stand_in
    sys.modules.pop("paramform_user")
    assert user.load is original
    assert user.TABLE["load"] is original


class Proxy:
    """A global that warns when its ``__class__`` is read, as torch.distributed's
    deprecated ``reduce_op`` does."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        warnings.warn("reduce_op is deprecated", FutureWarning, stacklevel=2)
        return Proxy


def test_a_module_removed_meanwhile_does_not_hide_the_ones_imported(
    library: types.ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Then every loaded module is looked at, touching no global's attributes (the suite
    runs with warnings as errors)."""
    (tmp_path / "paramform_user2.py").write_text("from paramform_library import load\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    doomed = types.ModuleType("paramform_doomed")
    monkeypatch.setitem(sys.modules, "paramform_doomed", doomed)
    library.proxy = Proxy()  # type: ignore[attr-defined]  # a fresh module per test
    with standing_in([(library, "load", stand_in)]):
        del sys.modules["paramform_doomed"]
        user = importlib.import_module("paramform_user2")
    sys.modules.pop("paramform_user2")
    assert user.load is original


class LazyMapping(dict[str, object]):
    """Like transformers' Auto mappings: ``items()`` imports (here: fails) on the way."""

    def items(self) -> Any:
        raise AssertionError("the lazy mapping's own items() was called")


def test_a_lazy_mapping_global_is_repaired_through_dicts_own_methods(
    library: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that removed a module makes every module's globals be looked at; a dict
    subclass that loads things from ``items()`` is read as the plain dict it stores."""
    registry = LazyMapping()
    monkeypatch.setattr(library, "registry", registry, raising=False)
    doomed = types.ModuleType("paramform_doomed")
    monkeypatch.setitem(sys.modules, "paramform_doomed", doomed)
    with standing_in([(library, "load", stand_in)]):
        dict.__setitem__(registry, "loader", library.load)  # a stand-in kept in a registry
        del sys.modules["paramform_doomed"]
    assert dict.__getitem__(registry, "loader") is original
