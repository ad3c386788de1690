"""The baseline: build every torchvision classifier with real (random) weights and count
its parameters, the way one would without pytest-paramform."""

from __future__ import annotations

import torchvision

total = 0
for name in torchvision.models.list_models(module=torchvision.models):
    model = torchvision.models.get_model(name, weights=None)
    total += sum(p.numel() for p in model.parameters())
    del model
print(total)
