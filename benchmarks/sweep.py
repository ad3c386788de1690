"""Build every timm and transformers architecture without weights; compare the small ones
with a real build. Not part of the test run: the whole sweep takes an hour or more.

    python benchmarks/sweep.py                       # both libraries, every architecture
    python benchmarks/sweep.py --library timm --match 'swinv2|rope'
    python benchmarks/sweep.py --library transformers --limit 50 --real-below 5e7
    python benchmarks/sweep.py --library transformers --real-below 0 --match 'mixtral|vit'

transformers models are also saved (``save_pretrained``, shrunk to 2 layers of width 64
where the config allows, else as they are when under ``--save-below`` parameters) and
compared with ``hf:`` of the saved folder, as ``paramform diff hf:DIR DIR`` compares them:
"saved (renamed on load)" counts those whose checkpoint names differ from the
model's, and "save mismatched" those that still differ once read as transformers loads them.

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
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import torch

from pytest_paramform import ParamFormReport, build_report, compare
from pytest_paramform.cli.inputs import load_pair, load_report
from pytest_paramform.sources.building.budget import AllocationBudget, BudgetExceeded

TOO_BIG = "too big to save"
REAL_BUDGET = 4 * 1024**3  # bytes a real build of a model "small enough to compare" may use
# A config shrunk for the save pass: 2 layers, width 64, 4 experts (fields a config lacks
# are left alone; one the model rejects sends it back to its default config).
TINY = {
    **dict.fromkeys(
        ("num_hidden_layers", "num_layers", "encoder_layers", "decoder_layers",
         "num_decoder_layers"), 2
    ),
    **dict.fromkeys(("hidden_size", "d_model"), 64),
    **dict.fromkeys(
        ("intermediate_size", "d_ff", "ffn_dim", "encoder_ffn_dim", "decoder_ffn_dim"), 128
    ),
    **dict.fromkeys(("moe_intermediate_size", "shared_expert_intermediate_size"), 32),
    **dict.fromkeys(("num_local_experts", "num_experts", "n_routed_experts"), 4),
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "num_experts_per_tok": 2,
}


def timm_architectures() -> Iterator[tuple[str, Callable[[], Any]]]:
    import timm

    for name in timm.list_models():
        yield f"timm:{name}", functools.partial(timm.create_model, name)


def transformers_architectures(
    one_per_type: bool = False,
) -> Iterator[tuple[str, Callable[[], Any]]]:
    """Every (model_type, class) pair the auto mappings know, from the default config
    (with ``one_per_type``, the base model class of each type, else its first class)."""
    import transformers
    from transformers.models.auto import modeling_auto

    transformers.logging.set_verbosity_error()  # one line per model about its config
    transformers.logging.disable_progress_bar()  # one per save_pretrained

    pairs: dict[tuple[str, str], None] = {}
    for attr in sorted(vars(modeling_auto)):
        table = getattr(modeling_auto, attr)
        if not (attr.startswith("MODEL_") and attr.endswith("_MAPPING_NAMES")):
            continue
        for model_type, names in table.items():
            for name in names if isinstance(names, tuple | list) else (names,):
                pairs[(model_type, name)] = None
    if one_per_type:
        base = modeling_auto.MODEL_MAPPING_NAMES
        firsts = {t: base.get(t, n) for t, n in reversed(list(pairs))}
        pairs = {(t, n if isinstance(n, str) else n[0]): None for t, n in sorted(firsts.items())}
    for model_type, class_name in pairs:
        cls = getattr(transformers, class_name, None)
        if cls is None:
            continue

        def build(cls: Any = cls, model_type: str = model_type, tiny: bool = False) -> Any:
            config = transformers.AutoConfig.for_model(model_type)
            return cls(shrunk(config) if tiny else config)

        yield f"transformers:{model_type}:{class_name}", build


def shrunk(config: Any) -> Any:
    """``config`` rebuilt with the ``TINY`` values, in its sub-configs (text, vision, ...)
    too; rebuilt from a dict, as configs check their fields against each other."""
    return type(config).from_dict(_shrunk(config.to_dict()))


def _shrunk(values: dict[str, Any]) -> dict[str, Any]:
    values = {k: _shrunk(v) if isinstance(v, dict) and "model_type" in v else v
              for k, v in values.items()}
    before = values.get("num_hidden_layers")
    for field, value in TINY.items():
        if type(values.get(field)) is int:
            values[field] = value
    after = values.get("num_hidden_layers")
    if type(before) is int and before > after:  # per-layer lists: layer_types, ...
        for key, value in values.items():
            if isinstance(value, list) and len(value) == before:
                values[key] = value[:after]
    return values


def saved_to(folder: str, factory: Callable[..., Any], ours: ParamFormReport, below: float) -> str:
    """Build for real and ``save_pretrained``: shrunk, else as it is when small enough."""
    tries = [True] + ([False] if ours.num_parameters <= below else [])
    error = ""
    for tiny in tries:
        try:
            with AllocationBudget(REAL_BUDGET):
                model = factory(tiny=tiny)
            model.save_pretrained(folder)
            type(model.config).from_pretrained(folder)  # transformers reads its own save
            return ""
        except (Exception, BudgetExceeded) as exc:
            error = f"{type(exc).__name__}: {exc}"
    return error if len(tries) > 1 else f"{TOO_BIG} (shrunk: {error})"


def save_and_compare(
    factory: Callable[..., Any], ours: ParamFormReport, label: str, args: argparse.Namespace
) -> str:
    """What ``save_pretrained`` and ``paramform diff hf:DIR DIR`` make of the model."""
    with tempfile.TemporaryDirectory() as folder:
        error = saved_to(folder, factory, ours, args.save_below)
        if error:
            if args.verbose:
                print(f"lib no save {label}: {error}"[:200], flush=True)
            too_big = error.startswith(TOO_BIG)
            return "not saved (too big)" if too_big else "save failed in the library"
        expected, actual = load_pair(f"hf:{folder}", folder, buffers=True)
        drifts = compare(expected, actual)
        if drifts:
            lines = "; ".join(d.text.strip() for d in drifts[:3])
            print(f"SAVE MISMATCH {label}: {lines}"[:300], flush=True)
            return "save mismatched"
        raw = compare(expected, load_report(folder))
        return "saved (renamed on load)" if raw else "saved (same names)"


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
        if args.save and label.startswith("transformers:"):
            try:
                result = save_and_compare(factory, ours, label, args)
                counts[result] += 1
                if args.verbose:
                    print(f"{result:<28}{label}", flush=True)
            except Exception as exc:  # ours: paramform could not read or compare it
                counts["save mismatched"] += 1
                print(f"SAVE FAILED {label}: {type(exc).__name__}: {exc}"[:300], flush=True)
        gc.collect()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", choices=["timm", "transformers", "both"], default="both")
    parser.add_argument("--match", help="only architectures whose label matches this regex")
    parser.add_argument("--limit", type=int, default=0, help="at most this many per library")
    parser.add_argument("--real-below", type=float, default=3e8,
                        help="compare with a real build up to this many parameters")
    parser.add_argument("--save-below", type=float, default=1e8,
                        help="save a model whose config cannot shrink up to this many parameters")
    parser.add_argument("--no-save", dest="save", action="store_false",
                        help="skip the save_pretrained pass")
    parser.add_argument("--one-per-type", action="store_true",
                        help="transformers: one class per model type (its base model)")
    parser.add_argument("--verbose", action="store_true", help="also list library failures")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    sources = {
        "timm": timm_architectures,
        "transformers": functools.partial(transformers_architectures, args.one_per_type),
    }
    chosen = list(sources) if args.library == "both" else [args.library]
    bad = 0
    for library in chosen:
        start = time.perf_counter()
        counts = sweep(sources[library](), args)
        took = time.perf_counter() - start
        summary = ", ".join(f"{counts[k]} {k}" for k in (
            "tried", "built", "failed", "failed in the library too", "compared", "mismatched",
            "saved (same names)", "saved (renamed on load)", "save mismatched",
            "save failed in the library", "not saved (too big)",
        ))
        print(f"{library}: {summary} ({took:.0f} s)", flush=True)
        bad += counts["failed"] + counts["mismatched"] + counts["save mismatched"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
