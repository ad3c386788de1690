"""Build every timm and transformers architecture without weights; compare the small ones
with a real build. Not part of the test run: the whole sweep takes an hour or more.

    python benchmarks/sweep.py                       # both libraries, every architecture
    python benchmarks/sweep.py --library timm --match 'swinv2|rope'
    python benchmarks/sweep.py --library transformers --limit 50 --real-below 5e7

For each architecture it prints one line when something is wrong, and at the end the counts:
built, failed (where the library itself builds the model, so the failure is ours),
failed in the library too (a missing optional package, a config that needs arguments),
compared with a real build, and mismatched (names, shapes, ties or frozen flags differ).
A family that starts failing or mismatching after an upgrade shows here first.
"""

from __future__ import annotations

import argparse
import functools
import gc
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import torch

from pytest_paramform import ParamFormReport, build_report
from pytest_paramform.torch_modes import AllocationBudget, BudgetExceeded

REAL_BUDGET = 4 * 1024**3  # bytes a real build of a model "small enough to compare" may use


def timm_architectures() -> Iterator[tuple[str, Callable[[], Any]]]:
    import timm

    for name in timm.list_models():
        yield f"timm:{name}", functools.partial(timm.create_model, name)


def transformers_architectures() -> Iterator[tuple[str, Callable[[], Any]]]:
    """Every (model_type, class) pair the auto mappings know, from the default config."""
    import transformers
    from transformers.models.auto import modeling_auto

    transformers.logging.set_verbosity_error()  # one line per model about its config

    pairs: dict[tuple[str, str], None] = {}
    for attr in sorted(vars(modeling_auto)):
        table = getattr(modeling_auto, attr)
        if not (attr.startswith("MODEL_") and attr.endswith("_MAPPING_NAMES")):
            continue
        for model_type, names in table.items():
            for name in names if isinstance(names, tuple | list) else (names,):
                pairs[(model_type, name)] = None
    for model_type, class_name in pairs:
        cls = getattr(transformers, class_name, None)
        if cls is None:
            continue

        def build(cls: Any = cls, model_type: str = model_type) -> Any:
            return cls(transformers.AutoConfig.for_model(model_type))

        yield f"transformers:{model_type}:{class_name}", build


def real_report(factory: Callable[[], Any]) -> ParamFormReport | None:
    """The report of a real, allocated build; None past the budget."""
    try:
        with AllocationBudget(REAL_BUDGET):
            model = factory()
    except BudgetExceeded:
        return None
    report = build_report(model)
    del model
    return report


def library_builds(factory: Callable[[], Any]) -> bool:
    """Whether the library builds the model at all: on a meta device, or for real."""
    try:
        with torch.device("meta"):
            factory()
        return True
    except Exception:
        pass
    try:
        return real_report(factory) is not None
    except Exception:
        return False


def same(ours: ParamFormReport, real: ParamFormReport) -> bool:
    return (ours.rows, ours.aliases) == (real.rows, real.aliases)


def sweep(
    architectures: Iterator[tuple[str, Callable[[], Any]]], args: argparse.Namespace
) -> Counter[str]:
    counts: Counter[str] = Counter()
    pattern = re.compile(args.match) if args.match else None
    for label, factory in architectures:
        if pattern is not None and not pattern.search(label):
            continue
        if args.limit and counts["tried"] >= args.limit:
            break
        counts["tried"] += 1
        try:
            ours = build_report(factory, label.rsplit(":", 1)[-1])
        except Exception as exc:
            first = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
            if library_builds(factory):
                counts["failed"] += 1
                print(f"FAILED      {label}: {first}", flush=True)
            else:
                counts["failed in the library too"] += 1
                if args.verbose:
                    print(f"lib fails   {label}: {first}", flush=True)
            continue
        counts["built"] += 1
        if ours.num_parameters <= args.real_below:
            try:
                real = real_report(factory)
            except Exception as exc:  # the library builds on meta but not for real
                real = None
                print(f"real failed {label}: {type(exc).__name__}: {exc}"[:200], flush=True)
            if real is not None:
                counts["compared"] += 1
                if not same(ours, real):
                    counts["mismatched"] += 1
                    print(f"MISMATCH    {label}", flush=True)
        gc.collect()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", choices=["timm", "transformers", "both"], default="both")
    parser.add_argument("--match", help="only architectures whose label matches this regex")
    parser.add_argument("--limit", type=int, default=0, help="at most this many per library")
    parser.add_argument("--real-below", type=float, default=3e8,
                        help="compare with a real build up to this many parameters")
    parser.add_argument("--verbose", action="store_true", help="also list library failures")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    sources = {"timm": timm_architectures, "transformers": transformers_architectures}
    chosen = list(sources) if args.library == "both" else [args.library]
    bad = 0
    for library in chosen:
        start = time.perf_counter()
        counts = sweep(sources[library](), args)
        took = time.perf_counter() - start
        summary = ", ".join(f"{counts[k]} {k}" for k in (
            "tried", "built", "failed", "failed in the library too", "compared", "mismatched"
        ))
        print(f"{library}: {summary} ({took:.0f} s)", flush=True)
        bad += counts["failed"] + counts["mismatched"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
