"""Checkpoints have no model order: the same weights saved by torch.save, by safetensors
(which sorts its header) or as a sharded index agree, and only real changes drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import save_file, save_model

from pytest_paramform import build_report
from pytest_paramform.cli import main
from pytest_paramform.comparison.core import compare

import toy_models
from suites import run

pytest_plugins = ["pytester"]

KINDS = ("pt", "safetensors", "index")


def save_everywhere(state: dict[str, torch.Tensor], folder: Path) -> dict[str, Path]:
    """One state dict as torch.save, save_file and a 2-shard index (weight_map sorted by
    name, as save_pretrained writes it) would store it."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / "r.pt")
    save_file(state, folder / "r.safetensors")
    keys = list(state)
    shards = {"model-00001-of-00002.safetensors": keys[: len(keys) // 2]}
    shards["model-00002-of-00002.safetensors"] = keys[len(keys) // 2 :]
    (folder / "sharded").mkdir()
    weight_map = {}
    for shard, names in shards.items():
        save_file({name: state[name] for name in names}, folder / "sharded" / shard)
        weight_map |= dict.fromkeys(names, shard)
    index = folder / "sharded" / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}, sort_keys=True))
    return {"pt": folder / "r.pt", "safetensors": folder / "r.safetensors", "index": index}


@pytest.fixture(scope="module")
def resnet18_state() -> dict[str, torch.Tensor]:
    return torchvision.models.resnet18().state_dict()


@pytest.fixture(scope="module")
def saved(
    resnet18_state: dict[str, torch.Tensor], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    return save_everywhere(resnet18_state, tmp_path_factory.mktemp("r18"))


def test_the_three_files_really_list_the_tensors_in_different_orders(
    saved: dict[str, Path],
) -> None:
    orders = {tuple(row.name for row in build_report(saved[kind]).rows) for kind in KINDS}
    assert len(orders) == 3


@pytest.mark.parametrize(("old", "new"), [(a, b) for a in KINDS for b in KINDS if a != b])
def test_the_same_weights_agree_however_they_are_saved(
    saved: dict[str, Path], old: str, new: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compare(build_report(saved[old]), build_report(saved[new])) == []
    assert main(["diff", str(saved[old]), str(saved[new])]) == 0
    golden = tmp_path / f"from_{old}.yaml"
    assert main(["report", str(saved[old]), "--format", "yaml", "--output", str(golden)]) == 0
    folder = saved[new].parent if new == "index" else saved[new]  # a save_pretrained folder
    for path in (saved[new], folder):
        assert main(["check", str(path), str(golden)]) == 0
    assert "moved" not in capsys.readouterr().out


def changed(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A real change: a reshaped head, a tensor gone, a tensor added."""
    state = {name: tensor for name, tensor in state.items() if name != "layer2.0.bn1.bias"}
    new = {
        "fc.weight": torch.zeros(10, 512),
        "fc.bias": torch.zeros(10),
        "aux.weight": torch.zeros(3, 4),
    }
    return state | new


@pytest.mark.parametrize("old", KINDS)
def test_a_real_change_between_checkpoints_drifts_in_name_order(
    saved: dict[str, Path],
    resnet18_state: dict[str, torch.Tensor],
    old: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    new = tmp_path / "new.safetensors"
    save_file(changed(resnet18_state), new)
    capsys.readouterr()
    assert main(["diff", str(saved[old]), str(new)]) == 1
    out = capsys.readouterr().out
    rows = [line.split()[:2] for line in out.splitlines() if line[:4] in ("  + ", "  - ", "  ~ ")]
    assert rows == [
        ["+", "aux.weight"],
        ["~", "fc.bias"],
        ["~", "fc.weight"],
        ["-", "layer2.0.bn1.bias"],
    ]
    assert "(moved)" not in out
    assert "shape (1000, 512) -> (10, 512)" in out


def test_dtypes_still_drift_between_checkpoints_where_both_record_them(
    saved: dict[str, Path], resnet18_state: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    half = tmp_path / "half.safetensors"
    cast = {n: t.half() if t.is_floating_point() else t for n, t in resnet18_state.items()}
    save_file(cast, half)
    drifts = compare(build_report(saved["pt"], dtype=True), build_report(half, dtype=True))
    assert [d.text.split(":")[0] for d in drifts if d.kind == "state"] == [
        "dtype float32 -> float16"
    ]


def test_a_tied_model_saved_both_ways_agrees_and_an_untied_one_drifts(tmp_path: Path) -> None:
    """torch.save records the tie; safetensors keeps one name of the pair."""
    torch.save(toy_models.TiedLM().state_dict(), tmp_path / "tied.pt")
    save_model(toy_models.TiedLM(), str(tmp_path / "tied.safetensors"))
    untied = toy_models.TiedLM()
    untied.lm_head.weight = torch.nn.Parameter(torch.zeros(50, 8))
    torch.save(untied.state_dict(), tmp_path / "untied.pt")
    pt, st = build_report(tmp_path / "tied.pt"), build_report(tmp_path / "tied.safetensors")
    assert compare(pt, st) == []
    assert compare(st, pt) == []
    lines = [d.text for d in compare(pt, build_report(tmp_path / "untied.pt"))]
    assert "tying broken: lm_head.weight no longer shares wte.weight (+400 parameters)" in lines


def test_the_fixture_checks_a_checkpoint_against_a_golden_from_another_format(
    pytester: pytest.Pytester, resnet18_state: dict[str, torch.Tensor]
) -> None:
    files = save_everywhere(resnet18_state, pytester.path / "checkpoints")
    test = "def test_ckpt(paramform_snapshot):\n    paramform_snapshot({!r})\n"
    pytester.makepyfile(test_ckpt=test.format("checkpoints/r.pt"))
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    for path in ("checkpoints/r.safetensors", "checkpoints/sharded"):
        pytester.makepyfile(test_ckpt=test.format(path))
        run(pytester).assert_outcomes(passed=1)
    save_file(changed(resnet18_state), files["safetensors"])
    pytester.makepyfile(test_ckpt=test.format("checkpoints/r.safetensors"))
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  + aux.weight *", "  ~ fc.bias *", "  ~ fc.weight *"])
    result.stdout.no_fnmatch_line("*(moved)*")
