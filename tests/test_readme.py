"""Every README example, run as written: a shell line exits 0 in a user's project, a Python
block runs and its ``# value`` comments hold, a test file passes after an update, and shown
output is what the program prints.

How each block is held is the HTML comment above it (``tests/readme_blocks.py``). The
"project" below stands for the user's: the model, checkpoints and configs the examples name.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import timm
import torch
import transformers
from test_sharded import write_sharded
from torch import nn

from pytest_paramform.cli import main

import hf_tiny
from readme_blocks import Block, blocks, matches
from suites import MODEL, run

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
BLOCKS = blocks()
KINDS = ("ci", "install", "output", "head-of", "shell", "python", "test-file", "ini",
         "scenario", "skip")

# What the examples call the user's own code: imported at the top of every Python block and
# test file the README shows ("your model", "your config"), so the blocks stay as written.
PRELUDE = "from readme_project import *  # noqa: F403\n"
PROJECT_CODE = '''
import torch
from torch import nn

config = {"width": 8}


class MyModel(nn.Module):
    """Stands for a user's model: a few layers, a BatchNorm with its buffers."""

    def __init__(self, config=config):
        super().__init__()
        self.embed = nn.Linear(4, config["width"])
        self.norm = nn.BatchNorm1d(config["width"])
        self.head = nn.Linear(config["width"], 2)


def build_distilled_model():
    return MyModel({"width": 6})
'''
CONFTEST = '''
import pytest
from readme_project import MyModel


@pytest.fixture
def student_model():
    return MyModel({"width": 3})
'''
# pytester's in-process runs drop modules first imported inside them, and transformers' lazy
# modules and timm's registry break when imported twice: what the examples build loads here.
LOADED_HERE = (transformers.LlamaForCausalLM, timm.create_model)
LLAMA_7B = {
    "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 11008,
    "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
    "vocab_size": 32000, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
}


def by_kind(*kinds: str) -> list[Block]:
    return [b for b in BLOCKS if b.kind in kinds]


def ids(selected: list[Block]) -> list[str]:
    return [b.id for b in selected]


def sh(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``command`` in a shell, as a user types it, with this environment's programs first."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GITHUB_STEP_SUMMARY", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS")}
    env.update(PATH=f"{BIN}{os.pathsep}{env['PATH']}", COLUMNS="80")
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def run_line(command: str, cwd: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """A README command line: exit code and output. ``paramform ...`` with no shell syntax
    runs in this process (the console script is ``main``, and torch is imported once)."""
    words = shlex.split(command)
    if words[0] != "paramform" or re.search(r"[|&;<>$`]", command):
        done = sh(command, cwd)
        return done.returncode, done.stdout + done.stderr
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        code = main(words[1:])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's project holding everything the examples name, made once."""
    root = tmp_path_factory.mktemp("project")
    (root / "readme_project.py").write_text(PROJECT_CODE)
    (root / "conftest.py").write_text(CONFTEST)
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    sys.path.insert(0, str(root))
    try:
        import readme_project

        make_checkpoints(root / "checkpoints", readme_project.MyModel)
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("readme_project", None)
    config = transformers.LlamaConfig(**LLAMA_7B)
    config.save_pretrained(str(root / "configs" / "llama-7b"))
    hf_tiny.mixtral().save_pretrained(str(root / "saved" / "mixtral"))
    return root


@pytest.fixture
def project(project_template: Path, pytester: pytest.Pytester) -> Path:
    """This test's own copy of the project, as the current folder (pytester's)."""
    shutil.copytree(project_template, pytester.path, dirs_exist_ok=True)
    return pytester.path


def make_checkpoints(folder: Path, my_model: Callable[[], nn.Module]) -> None:
    import torchvision
    from safetensors.torch import save_file

    folder.mkdir()
    resnet = torchvision.models.resnet18().state_dict()
    torch.save(resnet, folder / "resnet18.pt")
    save_file({k: v.contiguous() for k, v in resnet.items()}, folder / "resnet18.safetensors")
    save_file({"w": torch.zeros(3, 4), "b": torch.zeros(3)}, folder / "model.safetensors")
    torch.save(my_model().state_dict(), folder / "last.pt")
    layers = [{f"model.layers.{i}.mlp.weight": torch.zeros(8, 4)} for i in range(3)]
    write_sharded(folder / "llm", layers)


def test_every_block_says_how_it_is_tested() -> None:
    unnoted = [b.id for b in BLOCKS if b.kind not in KINDS]
    assert not unnoted, f"add a <!-- readme: KIND --> note ({', '.join(KINDS)}) above {unnoted}"
    assert all(b.arg for b in by_kind("skip")), "a skipped block says why"


def test_the_test_command_is_what_ci_runs() -> None:
    """Word for word, on two pytest-xdist workers; tox runs the suite the same way."""
    (block,) = by_kind("ci")
    ci_lines = (ROOT / ".ci/run").read_text().splitlines()
    assert block.text.strip() in ci_lines
    assert block.text.strip().endswith(" -m pytest -n 2")
    tox = (ROOT / "tox.ini").read_text()
    assert tox.count("commands = pytest {posargs:-n 2}") == 2  # py311 and oldest


@pytest.mark.parametrize("block", by_kind("install"), ids=ids(by_kind("install")))
def test_the_install_command(
    block: Block, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The install steps are .ci/run's with other extras; the command after them runs."""
    *install, command = block.text.strip().split(" && ")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert install[0] == "python3 -m venv .venv"
    wanted = re.fullmatch(r'\.venv/bin/pip install -q -e "\.\[(\w+)\]"', install[1])
    assert wanted, install[1]
    assert wanted[1] in extras
    code, out = run_line(command.replace(".venv/bin/", ""), project, capsys)
    assert code == 0, out


OUTPUTS = by_kind("output", "head-of")


@pytest.mark.parametrize("block", OUTPUTS, ids=ids(OUTPUTS))
def test_shown_output_is_printed(
    block: Block, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = block.text
    if block.kind == "head-of":
        command, text = block.arg, text + "...\n"
    else:
        first, _, text = text.partition("\n")
        assert first.startswith("$ "), "an output block starts with its command"
        command = first[2:]
    code, out = run_line(command, project, capsys)
    assert code == 0, out
    assert matches(text, out), out


@pytest.mark.parametrize("block", by_kind("shell"), ids=ids(by_kind("shell")))
def test_shell_lines_run(block: Block, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for line in block.text.splitlines():
        command = line.split(" #", 1)[0].strip()
        if command:
            code, out = run_line(command, project, capsys)
            assert code == 0, f"{command}\n{out}"


@pytest.mark.parametrize("block", by_kind("python"), ids=ids(by_kind("python")))
def test_python_blocks_run_and_say_true(
    block: Block, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run in the project folder; ``expr   # shown`` lines must show that value (``...``
    stands for the rest), and a ``test_`` function the block defines must pass."""
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    namespace: dict[str, object] = {}
    exec(compile(PRELUDE, "prelude", "exec"), namespace)
    checker = doctest.OutputChecker()
    for statement, shown in _statements(block.text):
        code = compile(statement, f"README.md:{block.line}", "eval" if shown else "exec")
        value = eval(code, namespace) if shown else exec(code, namespace)
        if shown:
            assert checker.check_output(shown + "\n", repr(value) + "\n", doctest.ELLIPSIS), (
                f"README says {shown}, the code gives {value!r}"
            )
    for name, function in list(namespace.items()):
        if name.startswith("test_") and callable(function):
            function()


def _statements(text: str) -> list[tuple[str, str]]:
    """The block cut into statements; an expression line ending in ``# value`` is paired
    with the value the README shows for it."""
    out: list[tuple[str, str]] = []
    chunk: list[str] = []
    for line in text.splitlines():
        code, _, comment = line.partition("  # ")
        if not line.startswith((" ", "\t", ")")) and chunk:
            out.append(("\n".join(chunk) + "\n", ""))
            chunk = []
        if _is_expression(code.strip()) and not line.startswith(" ") and comment:
            out.append((code.strip(), comment.strip()))
        else:
            chunk.append(line)
    if chunk:
        out.append(("\n".join(chunk) + "\n", ""))
    return out


def _is_expression(code: str) -> bool:
    try:
        compile(code, "line", "eval")
    except SyntaxError:
        return False
    return bool(code)


@pytest.mark.parametrize("block", by_kind("test-file"), ids=ids(by_kind("test-file")))
def test_test_files_pass_after_an_update(
    block: Block, project: Path, pytester: pytest.Pytester
) -> None:
    """Written where the note says, an update writes its goldens and the next run passes."""
    path = project / block.arg
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PRELUDE + block.text)
    update = run(pytester, block.arg, "--paramform-update")
    assert update.ret == 0, update.stdout.str()
    assert "paramform" in update.stdout.str()
    again = run(pytester, block.arg)
    assert again.ret == 0, again.stdout.str()


@pytest.mark.parametrize("block", by_kind("ini"), ids=ids(by_kind("ini")))
def test_ini_settings_take_effect(block: Block, pytester: pytest.Pytester) -> None:
    """A format setting names the golden's suffix; the plugin guard stops a run without the
    plugin at startup (exit 4), before any golden is touched."""
    (pytester.path / "pyproject.toml").write_text(block.text)
    pytester.makepyfile(
        test_m="import torch\n\ndef test_m(paramform_snapshot):\n"
        "    paramform_snapshot(torch.nn.Linear(2, 2))\n"
    )
    assert run(pytester, "--paramform-update").ret == 0
    (golden,) = (pytester.path / "__snapshots__" / "test_m").iterdir()
    settings = tomllib.loads(block.text)["tool"]["pytest"]["ini_options"]
    suffix = {"markdown": ".paramform.md"}.get(settings.get("paramform_format"), ".paramform.yaml")
    assert golden.name == "test_m" + suffix
    if "required_plugins" in settings:
        result = run(pytester, "--snapshot-update", "-p", "no:paramform")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*Missing required plugins: pytest-paramform*"])
        assert golden.is_file()


ARCH = "tests/test_arch.py"
NET_TESTS = "def test_net(paramform_snapshot):\n    paramform_snapshot(Net)\n"


def write_arch(project: Path, tests: str = NET_TESTS, **model: object) -> None:
    """tests/test_arch.py: the suites' small Net (``hidden``, ``extra_block``, ``bias``)."""
    settings = {"hidden": 4, "extra_block": False, "bias": True, **model}
    (project / "tests").mkdir(exist_ok=True)
    (project / ARCH).write_text(MODEL.format(**settings) + "\n\n" + tests)


def first_run(project: Path, pytester: pytest.Pytester) -> str:
    """The README's first test file, run before any golden exists."""
    (block,) = [b for b in by_kind("test-file") if b.arg == ARCH]
    (project / "tests").mkdir(exist_ok=True)
    (project / ARCH).write_text(PRELUDE + block.text)
    return run(pytester, ARCH).stdout.str()


def drift(project: Path, pytester: pytest.Pytester) -> str:
    """Net accepted, then wider, with a block inserted and the head's bias dropped."""
    write_arch(project)
    run(pytester, "--paramform-update", ARCH).assert_outcomes(passed=1)
    write_arch(project, hidden=6, extra_block=True, bias=False)
    return run(pytester, ARCH).stdout.str()


REVIEW_TESTS = NET_TESTS + (
    "\ndef test_head(paramform_snapshot):\n    paramform_snapshot(nn.Linear(8, 2))\n"
)
STUDENT_TEST = (
    "\ndef test_student(paramform_snapshot, student_model):\n"
    "    paramform_snapshot(student_model)\n"
)


def review(project: Path, pytester: pytest.Pytester) -> tuple[str, str]:
    """A run with one drifted, one new and one passing golden: terminal and summary file."""
    write_arch(project, tests=REVIEW_TESTS)
    run(pytester, "--paramform-update", ARCH).assert_outcomes(passed=2)
    write_arch(project, tests=REVIEW_TESTS + STUDENT_TEST, hidden=6, extra_block=True,
               bias=False)
    result = run(pytester, ARCH, "--paramform-summary", "summary.md")
    return result.stdout.str(), (project / "summary.md").read_text()


def kept(project: Path, pytester: pytest.Pytester) -> str:
    """test_vit renamed, then an update run narrowed to another test by its node id."""
    vit = "\ndef test_vit(paramform_snapshot):\n    paramform_snapshot(nn.Linear(16, 4))\n"
    write_arch(project, tests=NET_TESTS + vit)
    run(pytester, "--paramform-update", ARCH).assert_outcomes(passed=2)
    write_arch(project, tests=NET_TESTS + vit.replace("test_vit", "test_vit_b"))
    return run(pytester, "--paramform-update", f"{ARCH}::test_net").stdout.str()


LLM_TEST = 'def test_llama(paramform_snapshot):\n    paramform_snapshot("hf:configs/llama")\n'


def deeper_llama(project: Path, pytester: pytest.Pytester) -> tuple[str, str]:
    """Llama-7B accepted, then 8 layers deeper with grouped-query attention."""
    (project / "tests").mkdir(exist_ok=True)
    (project / "tests/test_llm.py").write_text(LLM_TEST)
    transformers.LlamaConfig(**LLAMA_7B).save_pretrained(str(project / "configs/llama"))
    run(pytester, "--paramform-update", "tests/test_llm.py").assert_outcomes(passed=1)
    changed = {**LLAMA_7B, "num_hidden_layers": 40, "num_key_value_heads": 8}
    transformers.LlamaConfig(**changed).save_pretrained(str(project / "configs/llama"))
    result = run(pytester, "tests/test_llm.py", "--paramform-summary", "summary.md")
    return result.stdout.str(), (project / "summary.md").read_text()


SCENARIOS: dict[str, Callable[[Path, pytest.Pytester], str]] = {
    "llama-drift": lambda project, pytester: deeper_llama(project, pytester)[0],
    "llama-details": lambda project, pytester: deeper_llama(project, pytester)[1],
    "kept": kept,
    "first-run": first_run,
    "drift": drift,
    "terminal": lambda project, pytester: review(project, pytester)[0],
    "summary": lambda project, pytester: review(project, pytester)[1],
}


@pytest.mark.parametrize("block", by_kind("scenario"), ids=ids(by_kind("scenario")))
def test_shown_runs_are_what_pytest_prints(
    block: Block, project: Path, pytester: pytest.Pytester
) -> None:
    """Each scenario plays what the README describes; the block is a stretch of its output."""
    output = SCENARIOS[block.arg](project, pytester)
    assert matches("...\n" + block.text + "...\n", output), output


def test_skipped_blocks_are_the_ones_that_need_what_tests_lack() -> None:
    """Only the CI workflow (GitHub, the network) and the release recipe (an sdist, run by
    tests/test_release.py) are not run here."""
    assert {b.lang for b in by_kind("skip")} <= {"yaml", "bash"}
    assert len(by_kind("skip")) <= 2
