"""The report: plain data about a model's parameter tensors, with no torch inside.

Every figure is derived from the rows (name and shape of each parameter tensor), so two
reports with the same rows can never disagree about totals or proportions.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import chain
from operator import attrgetter, eq
from typing import Any, Literal

from pytest_paramform.forward_report import ForwardReport
from pytest_paramform.weight_memory import WeightMemory, weight_memory

Shape = tuple[int, ...]
# Read per row at C speed: a checkpoint's report has 90,000 rows.
_NUMEL, _SQUEEZED, _DTYPE = attrgetter("numel"), attrgetter("squeezed"), attrgetter("dtype")
# The fields ParamRow compares, one getter each (a getter of several would make a tuple a row).
_COMPARED = tuple(map(attrgetter, ("name", "shape", "frozen", "dtype")))

SCALAR = "Scalar"
VECTOR = "Vector"
MATRIX = "Matrix"
TENSOR_PREFIX = "Tensor rank "
Source = Literal["model", "checkpoint"]
SOURCES: tuple[Source, ...] = ("model", "checkpoint")
ALWAYS_SHOWN_RANKS = (1, 2)
_NAMED_FORMS = {0: SCALAR, 1: VECTOR, 2: MATRIX}
_SHORT_UNITS = ("K", "M", "G", "T", "P", "E")


def squeeze(shape: Shape) -> Shape:
    """The shape with every dimension of size 1 removed."""
    return tuple(d for d in shape if d != 1)


@lru_cache(maxsize=4096)
def _derived(shape: Shape) -> tuple[Shape, int]:
    """Squeezed shape and numel, once per distinct shape: a large model repeats a few."""
    return squeeze(shape), math.prod(shape)


@lru_cache(maxsize=4096)
def form_of(shape: Shape) -> str:
    """The form of a tensor of this shape."""
    return form_name(len(squeeze(shape)))


def form_name(rank: int) -> str:
    """The seed's name for a squeezed rank (``Scalar`` rather than "Tensor rank 0")."""
    return _NAMED_FORMS.get(rank, f"{TENSOR_PREFIX}{rank}")


def form_rank(name: str) -> int:
    """The squeezed rank a form name stands for; ``ValueError`` for anything else."""
    for rank, known in _NAMED_FORMS.items():
        if name == known:
            return rank
    digits = name.removeprefix(TENSOR_PREFIX)
    canonical = digits.isascii() and digits.isdigit() and str(int(digits)) == digits
    if digits != name and canonical and int(digits) >= 3:
        return int(digits)
    raise ValueError(f"{name!r} is not a form (Scalar, Vector, Matrix or 'Tensor rank N', N >= 3)")


def short_count(n: int) -> str:
    """1000-based short total with 2 decimals (``3.50M``); below 1000 the plain integer."""
    if n < 1000:
        return str(n)
    value = float(n)
    for unit in _SHORT_UNITS:
        value /= 1000
        if round(value, 2) < 1000 or unit == _SHORT_UNITS[-1]:
            return f"{value:.2f}{unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def short_bytes(n: int) -> str:
    """Bytes, 1000-based as parameter counts are: ``512 B``, ``14.02 MB``, ``3.20 GB``."""
    short = short_count(n)
    if n < 1000:
        return f"{short} B"
    return f"{short[:-1]} {short[-1].replace('K', 'k')}B"


def bytes_change(before: int, after: int) -> str:
    """``13.50 GB -> 16.70 GB (+3.20 GB)``."""
    delta = f"{'-' if after < before else '+'}{short_bytes(abs(after - before))}"
    return f"{short_bytes(before)} -> {short_bytes(after)} ({delta})"


def percent(part: int, whole: int) -> float:
    """Share in percent; an empty whole has a share of zero rather than a division error."""
    return 100.0 * part / whole if whole else 0.0


RowFields = tuple[Shape, bool, "str | None"]  # a row's own: shape, frozen, dtype


@dataclass(frozen=True)
class ParamRow:
    """One parameter tensor (a layer in the seed's vocabulary), or one buffer.

    ``frozen`` is true for a parameter that does not require grad; ``dtype`` is recorded
    only when asked for (None otherwise), so the default report is the seed's.
    """

    name: str
    shape: Shape
    frozen: bool = False
    dtype: str | None = None
    # Derived once at construction: a zoo's goldens hold tens of thousands of rows.
    squeezed: Shape = field(init=False, repr=False, compare=False)
    numel: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "squeezed", squeeze(self.shape))
        object.__setattr__(self, "numel", math.prod(self.shape))

    @classmethod
    def trusted(
        cls, name: str, shape: Shape, frozen: bool = False, dtype: str | None = None
    ) -> ParamRow:
        """The same row as ``ParamRow(...)``, built without the frozen dataclass's
        per-field checks: for readers that made 90,000 rows from values they checked.
        ``shape`` must be a tuple of ints (its derived figures are cached by shape)."""
        row = object.__new__(cls)
        squeezed, numel = _derived(shape)
        row.__dict__.update(
            name=name, shape=shape, frozen=frozen, dtype=dtype, squeezed=squeezed, numel=numel
        )
        return row

    @classmethod
    def trusted_rows(
        cls,
        names: Iterable[str],
        keys: Iterable[Any],
        kinds: Callable[[Any], RowFields] | None = None,
    ) -> list[ParamRow]:
        """``[ParamRow.trusted(name, *kinds(key)) ...]`` for names and keys taken in
        pairs: each distinct key's fields (shape, frozen, dtype) and derived figures are
        worked out once, and every row copies them (90,000 rows share a few dozen).
        Without ``kinds`` each key is those fields."""
        made: dict[Any, dict[str, Any]] = {}
        rows: list[ParamRow] = []
        new, append = object.__new__, rows.append
        for name, key in zip(names, keys, strict=True):
            fields = made.get(key)
            if fields is None:
                row = cls.trusted(name, *(key if kinds is None else kinds(key)))
                fields = made[key] = {k: v for k, v in row.__dict__.items() if k != "name"}
            row = new(cls)
            attributes = row.__dict__
            attributes["name"] = name
            attributes.update(fields)
            append(row)
        return rows

    @property
    def rank(self) -> int:
        return len(self.squeezed)

    @property
    def form(self) -> str:
        return form_name(self.rank)


@dataclass(frozen=True)
class Alias:
    """A parameter name that holds the same tensor as an earlier one (tied weights)."""

    name: str
    target: str


@dataclass(frozen=True)
class ParamFormReport:
    """The parameter form report of one model, in model order.

    Tied names are listed in ``aliases`` and never counted twice. ``buffers`` is None
    unless buffers were asked for; they never enter the seed's figures. ``source`` is
    ``"checkpoint"`` for a report read from saved tensors rather than from a module.
    """

    name: str
    rows: tuple[ParamRow, ...]
    aliases: tuple[Alias, ...] = ()
    buffers: tuple[ParamRow, ...] | None = None
    source: Source = "model"
    forward: ForwardReport | None = None  # one forward pass, when inputs were given

    @cached_property
    def num_layers(self) -> int:
        """Parameter tensors, each tied weight once (the seed's "number of layers")."""
        return len(self.rows)

    @cached_property
    def num_parameters(self) -> int:
        """The exact parameter total; buffers never count."""
        return sum(map(_NUMEL, self.rows))

    @cached_property
    def num_trainable(self) -> int:
        """Parameters that require grad."""
        return sum(row.numel for row in self.rows if not row.frozen)

    @property
    def has_frozen(self) -> bool:
        """Whether any parameter is frozen (the golden then records which)."""
        return any(row.frozen for row in self.rows)

    @property
    def has_dtype(self) -> bool:
        """Whether dtypes were recorded (the ``dtype`` option)."""
        return not set(map(_DTYPE, chain(self.rows, self.buffers or ()))) <= {None}

    @cached_property
    def weights(self) -> WeightMemory | None:
        """The parameters' bytes by dtype, when every parameter row records its dtype."""
        if not self.rows or self.rows[0].dtype is None:  # the common case, at once
            return None
        dtypes = list(map(_DTYPE, self.rows))
        if None in dtypes:
            return None
        return weight_memory(zip(dtypes, map(_NUMEL, self.rows), strict=True))

    @cached_property
    def ranks(self) -> tuple[int, ...]:
        """Squeezed ranks in column order: Vector, Matrix, then the others by rank."""
        present = set(self._layers_by_rank) - set(ALWAYS_SHOWN_RANKS)
        return ALWAYS_SHOWN_RANKS + tuple(sorted(present))

    @property
    def forms(self) -> tuple[str, ...]:
        """Form names in column order (``Vector``, ``Matrix``, then the others present)."""
        return tuple(form_name(rank) for rank in self.ranks)

    @cached_property
    def _by_shape(self) -> Counter[tuple[Shape, int]]:
        """How many rows have each (squeezed shape, numel): a large model has few, so the
        per-form figures below add up a handful of entries, not every row."""
        return Counter(zip(map(_SQUEEZED, self.rows), map(_NUMEL, self.rows), strict=True))

    @cached_property
    def _layers_by_rank(self) -> Counter[int]:
        totals: Counter[int] = Counter()
        for (squeezed, _), count in self._by_shape.items():
            totals[len(squeezed)] += count
        return totals

    @cached_property
    def _parameters_by_rank(self) -> Counter[int]:
        totals: Counter[int] = Counter()
        for (squeezed, numel), count in self._by_shape.items():
            totals[len(squeezed)] += numel * count
        return totals

    def layers_of(self, form: str) -> int:
        """How many tensors have this form."""
        return self._layers_by_rank[form_rank(form)]

    def parameters_of(self, form: str) -> int:
        """How many parameters tensors of this form hold."""
        return self._parameters_by_rank[form_rank(form)]

    @property
    def layer_shares(self) -> dict[str, float]:
        """Percent of layers per form, in column order."""
        return {f: percent(self.layers_of(f), self.num_layers) for f in self.forms}

    @property
    def parameter_shares(self) -> dict[str, float]:
        """Percent of parameters per form, in column order."""
        return {f: percent(self.parameters_of(f), self.num_parameters) for f in self.forms}

    # Deprecated in 0.2, removed in 0.3: the report is pure data and formats render it
    # (pytest_paramform.to_yaml(report), from_yaml(text), ...). These shims are the one
    # import back up to ``formats``; tests/test_import_cycles.py lets them, and only them.
    def render(self, fmt: str, *, chart: str | None = None) -> str:
        """Deprecated: ``pytest_paramform.formats.render(report, fmt)``."""
        from pytest_paramform import formats

        _deprecated("ParamFormReport.render()", "formats.render")
        return formats.render(self, fmt, chart=chart)

    @classmethod
    def parse(cls, text: str, fmt: str, *, path: str | None = None) -> ParamFormReport:
        """Deprecated: ``pytest_paramform.formats.parse(text, fmt)``."""
        from pytest_paramform import formats

        _deprecated("ParamFormReport.parse()", "formats.parse")
        return formats.parse(text, fmt, path=path)

    def to_markdown(self, chart: str | None = None) -> str:
        """Deprecated: ``pytest_paramform.to_markdown(report)``."""
        from pytest_paramform import formats

        _deprecated("report.to_markdown()", "to_markdown")
        return formats.to_markdown(self, chart)

    def to_yaml(self) -> str:
        """Deprecated: ``pytest_paramform.to_yaml(report)``."""
        from pytest_paramform import formats

        _deprecated("report.to_yaml()", "to_yaml")
        return formats.to_yaml(self)

    @classmethod
    def from_markdown(cls, text: str, path: str | None = None) -> ParamFormReport:
        """Deprecated: ``pytest_paramform.from_markdown(text)``."""
        from pytest_paramform import formats

        _deprecated("ParamFormReport.from_markdown()", "from_markdown")
        return formats.from_markdown(text, path)

    @classmethod
    def from_yaml(cls, text: str, path: str | None = None) -> ParamFormReport:
        """Deprecated: ``pytest_paramform.from_yaml(text)``."""
        from pytest_paramform import formats

        _deprecated("ParamFormReport.from_yaml()", "from_yaml")
        return formats.from_yaml(text, path)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated and goes away in 0.3: use pytest_paramform.{new}(...)",
        DeprecationWarning,
        stacklevel=3,
    )


def rows_equal(first: Sequence[ParamRow], second: Sequence[ParamRow]) -> bool:
    """``tuple(first) == tuple(second)``, field by field at C speed rather than through
    the dataclass's ``__eq__`` once per row, and without making an object per row."""
    return len(first) == len(second) and all(
        all(map(eq, map(field, first), map(field, second))) for field in _COMPARED
    )
