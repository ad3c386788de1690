"""Small models built in the tests for the forms and names torchvision never shows."""

from __future__ import annotations

import torch
from torch import nn


class Scalars(nn.Module):
    """Parameters of squeezed rank 0: a true scalar and a (1, 1, 1) tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.temperature = nn.Parameter(torch.tensor(1.0))
        self.gate = nn.Parameter(torch.ones(1, 1, 1))
        self.proj = nn.Linear(4, 2)


class Rank5(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv3d = nn.Conv3d(2, 4, kernel_size=3)  # weight (4, 2, 3, 3, 3)
        self.kernel = nn.Parameter(torch.zeros(2, 3, 1, 4, 5, 6))  # squeezed rank 5


class ZeroSize(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.empty = nn.Parameter(torch.zeros(0, 3))
        self.nothing = nn.Parameter(torch.zeros(0))
        self.head = nn.Linear(3, 2)


class NoParameters(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU()
        self.register_buffer("running", torch.zeros(3))


class OddNames(nn.Module):
    """Names with a pipe, a colon, a hash, quotes and unicode, as register_parameter allows."""

    NAMES = ("a|b", "c:d", "e#f", "g'h\"", "größe", "層", "y", "null")

    def __init__(self) -> None:
        super().__init__()
        for i, name in enumerate(self.NAMES):
            self.register_parameter(name, nn.Parameter(torch.zeros(i + 1, 2)))


class TiedLM(nn.Module):
    def __init__(self, vocab: int = 50, width: int = 8) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.block = nn.Linear(width, width)
        self.lm_head = nn.Linear(width, vocab, bias=False)
        self.lm_head.weight = self.wte.weight


def make_scalars() -> nn.Module:
    return Scalars()
