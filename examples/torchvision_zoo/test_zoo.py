"""Every torchvision classification model, guarded by a committed YAML golden.

This is how a model zoo keeps its architectures honest in CI: one parametrized test, one
golden per model under __snapshots__/, models built without weights. Run it with
``pytest examples/torchvision_zoo``; accept an intended change with
``pytest examples/torchvision_zoo --paramform-update``.
"""

from __future__ import annotations

import functools

import pytest
import torchvision

CLASSIFIERS = torchvision.models.list_models(module=torchvision.models)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_architecture(paramform_snapshot, name: str) -> None:
    builder = torchvision.models.get_model_builder(name)
    paramform_snapshot(functools.partial(builder, weights=None))
