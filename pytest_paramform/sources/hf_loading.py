"""A checkpoint read the way a Hugging Face model loads it, for comparing the two.

transformers 5 renames and fuses tensors as it loads a checkpoint, so a model and its own
``save_pretrained`` folder hold different names (and, for fused experts, shapes). A
checkpoint set against a transformers model is therefore read through that model's
loading rules (``transformers_compat.as_loaded``) before the comparison, which stays a
plain comparison of two reports by name. Any other pair is left as it is.
"""

from __future__ import annotations

from typing import Any

from pytest_paramform.report import ParamFormReport, ParamRow
from pytest_paramform.sources.transformers_compat import Named, as_loaded, is_transformers_model


def as_loaded_by(report: ParamFormReport, model: Any) -> ParamFormReport:
    """``report``, when it is a checkpoint's (a file, or a golden recorded from one) and
    ``model`` a transformers model: its tensors as that model loads them. Its aliases
    (ties a ``.pt`` file records) are kept: a model and a checkpoint never compare ties."""
    if report.source != "checkpoint" or not is_transformers_model(model):
        return report
    saved = [Named(row.name, row.shape, row.dtype) for row in report.rows]
    rows = tuple(ParamRow.trusted(t.name, t.shape, False, t.dtype) for t in as_loaded(model, saved))
    return ParamFormReport(report.name, rows, report.aliases, report.buffers, "checkpoint")


def both_as_loaded(
    first: ParamFormReport, second: ParamFormReport, models: tuple[Any, Any]
) -> tuple[ParamFormReport, ParamFormReport]:
    """Each side read as the other side's model (if any) loads it."""
    return as_loaded_by(first, models[1]), as_loaded_by(second, models[0])
