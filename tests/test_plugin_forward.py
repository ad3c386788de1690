"""The forward section as users meet it: recorded with ``inputs=``, a stride change fails
naming the module, turning it on or off fails once until updated."""

from __future__ import annotations

import pytest

# pytester's in-process runs drop modules first imported inside them, and PyYAML's C loader
# breaks when imported twice: what the inner runs use loads here, once.
import pytest_paramform.comparison.forward
import pytest_paramform.formats.forward_markdown
import pytest_paramform.formats.forward_yaml
import pytest_paramform.sources.forward  # noqa: F401

from suites import GOLDEN, run

pytest_plugins = ["pytester"]

NET = """
import pytest
from torch import nn

STRIDE = {stride}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.body = nn.Sequential(nn.Conv2d(4, 4, 3, stride=STRIDE, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(self.body(self.stem(x)))


{marker}def test_net(paramform_snapshot):
    paramform_snapshot(Net{keywords})
"""


def write(
    pytester: pytest.Pytester, *, stride: int = 1, marker: str = "", keywords: str = ""
) -> None:
    pytester.makepyfile(test_arch=NET.format(stride=stride, marker=marker, keywords=keywords))


@pytest.mark.parametrize("how", ["call", "marker"])
def test_a_stride_change_fails_naming_the_module(pytester: pytest.Pytester, how: str) -> None:
    given = {"keywords": ", inputs=(1, 3, 16, 16)"}
    if how == "marker":
        given = {"marker": "@pytest.mark.paramform(inputs=(1, 3, 16, 16))\n"}
    write(pytester, **given)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    text = (pytester.path / GOLDEN).read_text()
    assert "  - {name: body, output: [1, 4, 16, 16], flops: 73728, share: " in text
    run(pytester).assert_outcomes(passed=1)
    write(pytester, stride=2, **given)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "paramform: Net differs from __snapshots__/test_arch/test_net.paramform.yaml",
            "  ~ body output (1, 4, 16, 16) -> (1, 4, 8, 8)   FLOPs 73.73K -> 18.43K (-75.0%)",
            "  ~ body.0 output (1, 4, 16, 16) -> (1, 4, 8, 8)   FLOPs 73.73K -> 18.43K (-75.0%)",
            "  ~ body.1 output (1, 4, 16, 16) -> (1, 4, 8, 8)",
            "  FLOPs 129.02K -> 73.73K (*%)",
        ]
    )
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    run(pytester).assert_outcomes(passed=1)


def test_turning_the_forward_pass_on_and_off_fails_once_until_updated(
    pytester: pytest.Pytester,
) -> None:
    write(pytester)
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    assert "forward:" not in (pytester.path / GOLDEN).read_text()
    pytester.makeini("[pytest]\nparamform_inputs = 1x3x8x8\nparamform_depth = 1\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  forward pass: this run records it and the golden does not"])
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    text = (pytester.path / GOLDEN).read_text()
    assert "  - {name: body, output: [1, 4, 8, 8], flops: 18432, share: " in text
    assert "{name: body.0," not in text, "depth 1"
    pytester.makeini("[pytest]\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  forward pass: the golden records it and this run does not*"])


def test_inputs_on_a_checkpoint_are_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_arch="import torch\n\n"
        "def test_net(paramform_snapshot):\n"
        "    paramform_snapshot({'w': torch.zeros(2)}, inputs=(1, 2))\n"
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["paramform: inputs need a model to run, and dict *"])


def test_a_flops_budget_fails_check_and_update_alike(pytester: pytest.Pytester) -> None:
    write(pytester, keywords=", inputs=(1, 3, 16, 16), max_flops=100_000")
    for update in ((), ("--paramform-update",)):
        result = run(pytester, *update)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            ["paramform: Net computes 129,024 FLOPs, over its budget max_flops=100,000"]
        )
        assert not (pytester.path / GOLDEN).exists()
    write(pytester, keywords=", max_flops=100_000")
    run(pytester).stdout.fnmatch_lines(["paramform: max_flops=100,000 needs a forward pass*"])


def test_a_forward_that_reads_values_runs_with_real_memory_or_fails_with_one_line(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_arch="from torch import nn\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.lin = nn.Linear(4, 4)\n\n"
        "    def forward(self, x):\n"
        "        return self.lin(x) * x.max().item()\n\n"
        "class Picky(Net):\n"
        "    def forward(self, x):\n"
        "        if x.max().item() == 0:\n"
        "            raise ValueError('no signal')\n"
        "        return x\n\n"
        "def test_net(paramform_snapshot):\n"
        "    paramform_snapshot(Net, inputs=(2, 4))\n\n"
        "def test_picky(paramform_snapshot):\n"
        "    paramform_snapshot(Picky, inputs=(2, 4))\n"
    )
    result = run(pytester, "--paramform-update")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "paramform: the forward pass of Picky failed in the model's own forward (Picky): "
            "ValueError: no signal (it ran with real memory, because it reads values*"
        ]
    )
    assert "forward:" in (pytester.path / GOLDEN).read_text()
    assert not (pytester.path / GOLDEN).with_name("test_picky.paramform.yaml").exists()
