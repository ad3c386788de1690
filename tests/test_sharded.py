"""Sharded checkpoints (an index, or a save_pretrained folder) read as one checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from pytest_paramform import SourceError, build_report
from pytest_paramform.cli import main
from pytest_paramform.formats import from_yaml
from pytest_paramform.sources.tensors import TensorInfo

from checkpoint_reads import read_file
from suites import run

pytest_plugins = ["pytester"]
save_file = pytest.importorskip("safetensors.torch").save_file

INDEX = "model.safetensors.index.json"


def write_sharded(
    folder: Path, shards: list[dict[str, torch.Tensor]], *, index: str = INDEX
) -> Path:
    """Shards written as the safetensors package (or torch.save) writes them, and an index
    whose weight_map lists the tensors shard by shard, as save_pretrained does."""
    folder.mkdir(parents=True, exist_ok=True)
    weight_map, total = {}, 0
    for number, state in enumerate(shards, start=1):
        if index.endswith(".bin.index.json"):
            name = f"pytorch_model-{number:05d}-of-{len(shards):05d}.bin"
            torch.save(state, folder / name)
        else:
            name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
            save_file(state, folder / name)
        for key, tensor in state.items():
            weight_map[key] = name
            if not any(tensor is other for k, other in state.items() if k < key):
                total += tensor.numel() * tensor.element_size()
    content = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / index).write_text(json.dumps(content, indent=2))
    return folder / index


SHARDS = [
    {"embed.weight": torch.zeros(10, 4, dtype=torch.bfloat16), "layers.0.w": torch.zeros(4, 4)},
    {"layers.1.w": torch.zeros(4, 4), "layers.1.scale": torch.zeros(4, 1)},
    {"head.weight": torch.zeros(2, 4, dtype=torch.float8_e4m3fn)},
]
NAMES = ["embed.weight", "layers.0.w", "layers.1.w", "layers.1.scale", "head.weight"]


def test_an_index_is_one_checkpoint_in_its_weight_map_order(tmp_path: Path) -> None:
    index = write_sharded(tmp_path / "llm", SHARDS)
    report = build_report(str(index), dtype=True)
    assert [row.name for row in report.rows] == NAMES
    assert report.name == "llm"
    assert report.source == "checkpoint"
    assert report.num_parameters == 40 + 16 + 16 + 4 + 8
    assert [row.dtype for row in report.rows][::4] == ["bfloat16", "float8_e4m3fn"]


def test_an_index_named_in_capitals_is_read_as_an_index(tmp_path: Path) -> None:
    """The suffix is read without regard to case, by the classifier and the reader alike:
    an upper-case index is never handed to torch.load as a pickle."""
    index = write_sharded(tmp_path / "llm", SHARDS, index="MODEL.SAFETENSORS.INDEX.JSON")
    report = build_report(str(index))
    assert [row.name for row in report.rows] == NAMES
    assert main(["report", str(index)]) == 0


def test_a_save_pretrained_folder_reads_as_its_index(tmp_path: Path) -> None:
    index = write_sharded(tmp_path / "llm", SHARDS)
    assert build_report(str(tmp_path / "llm")) == build_report(str(index))
    single = tmp_path / "small"
    single.mkdir()
    save_file({"w": torch.zeros(3, 2)}, single / "model.safetensors")
    assert [r.name for r in build_report(single).rows] == ["w"]
    with pytest.raises(SourceError, match="is a folder without a checkpoint"):
        build_report(str(tmp_path))


def test_a_tied_pair_that_safetensors_stored_once_is_one_row(tmp_path: Path) -> None:
    state = {"wte.weight": torch.zeros(8, 4), "block.weight": torch.zeros(4, 4)}
    index = write_sharded(tmp_path / "tied", [state])
    rows = [row.name for row in build_report(str(index)).rows]
    assert rows == ["wte.weight", "block.weight"], "lm_head.weight is not stored, not listed"


def test_a_bin_index_loads_each_shard_and_keeps_ties(tmp_path: Path) -> None:
    shared = torch.zeros(8, 4)
    shards = [{"wte.weight": shared, "lm_head.weight": shared}, {"block.weight": torch.zeros(4)}]
    index = write_sharded(tmp_path / "bin", shards, index="pytorch_model.bin.index.json")
    report = build_report(str(tmp_path / "bin"))
    assert [row.name for row in report.rows] == ["wte.weight", "block.weight"]
    assert [(a.name, a.target) for a in report.aliases] == [("lm_head.weight", "wte.weight")]
    assert build_report(str(index)) == report


def _add_ghost(data: dict[str, dict[str, str]]) -> None:
    data["weight_map"]["ghost"] = data["weight_map"]["head.weight"]


def edit_index(index: Path, change: object) -> None:
    data = json.loads(index.read_text())
    change(data)  # type: ignore[operator]
    index.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("breakage", "message", "names"),
    [
        (lambda i: edit_index(i, _add_ghost),
         r"lists 'ghost' in model-00003-of-00003\.safetensors, which does not hold it", INDEX),
        (lambda i: edit_index(i, lambda d: d["weight_map"].pop("layers.1.scale")),
         r"holds 'layers.1.scale', which the index .* does not list", "00002-of-00003"),
        (lambda i: (i.parent / "model-00002-of-00003.safetensors").unlink(),
         r"names the shard model-00002-of-00003\.safetensors, which is missing", INDEX),
        (lambda i: edit_index(i, lambda d: d["metadata"].update(total_size=1)),
         r"declares metadata\.total_size 1 but its shards hold 232 bytes", INDEX),
        (lambda i: edit_index(i, lambda d: d.pop("weight_map")), "has no weight_map", INDEX),
        (lambda i: edit_index(i, lambda d: d["weight_map"].update({"x": "../model.safetensors"})),
         "shards must be files beside the index", INDEX),
        (lambda i: i.write_text("{not json"), "is not a readable JSON index", INDEX),
        (lambda i: edit_index(i, lambda d: d.update(metadata="x")), "metadata is 'x'", INDEX),
        (lambda i: _truncate(i.parent / "model-00001-of-00003.safetensors"),
         "it is truncated", "00001-of-00003"),
    ],
    ids=["listed-not-held", "held-not-listed", "missing-shard", "total-size", "no-weight-map",
         "escaping-shard", "not-json", "metadata", "truncated-shard"],
)  # fmt: skip
def test_a_broken_index_is_one_error_naming_the_file(
    tmp_path: Path, breakage: object, message: str, names: str
) -> None:
    index = write_sharded(tmp_path / "llm", SHARDS)
    breakage(index)  # type: ignore[operator]
    with pytest.raises(SourceError, match=message) as info:
        read_file(index)
    assert info.value.path is not None
    assert names in info.value.path
    assert main(["report", str(index)]) == 2, "bad input, never a partial report"


def test_a_tensor_listed_twice_in_the_weight_map_is_named_a_duplicate(tmp_path: Path) -> None:
    index = write_sharded(tmp_path / "llm", SHARDS)
    text = index.read_text()  # JSON with one key twice, as a hand merge of two indexes leaves
    head, _, tail = text.partition('"weight_map": {')
    first = '"head.weight": "model-00001-of-00003.safetensors",'
    index.write_text(f'{head}"weight_map": {{{first}{tail}')
    with pytest.raises(SourceError, match=r"has the duplicate key 'head\.weight'") as info:
        read_file(index)
    assert info.value.path == str(index)


def _truncate(shard: Path) -> None:
    with shard.open("r+b") as handle:
        handle.truncate(shard.stat().st_size - 8)


def test_check_and_diff_of_an_index_never_import_torch(tmp_path: Path) -> None:
    index = write_sharded(tmp_path / "llm", SHARDS)
    golden = tmp_path / "golden.yaml"
    assert main(["report", str(index), "--format", "yaml", "--output", str(golden)]) == 0
    code = (
        "import sys\n"
        "from pytest_paramform.cli import main\n"
        f"assert main(['check', {str(tmp_path / 'llm')!r}, {str(golden)!r}]) == 0\n"
        f"assert main(['diff', {str(golden)!r}, {str(index)!r}]) == 0\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "torch imported: False" in done.stdout


def test_the_fixture_takes_a_folder_relative_to_the_rootdir(pytester: pytest.Pytester) -> None:
    write_sharded(pytester.path / "checkpoints" / "llm", SHARDS)
    pytester.mkpydir("tests")
    pytester.makepyfile(
        **{"tests/test_ckpt": "def test_ckpt(paramform_snapshot):\n"
                              "    paramform_snapshot('checkpoints/llm')\n"}
    )  # fmt: skip
    run(pytester, "--paramform-update").assert_outcomes(passed=1)
    golden = pytester.path / "tests/__snapshots__/test_ckpt/test_ckpt.paramform.yaml"
    assert from_yaml(golden.read_text()).num_layers == 5
    run(pytester, "--rootdir", str(pytester.path), "tests").assert_outcomes(passed=1)
    save_file({"layers.1.w": torch.zeros(4, 5), "layers.1.scale": torch.zeros(4, 1)},
              pytester.path / "checkpoints/llm/model-00002-of-00003.safetensors")  # fmt: skip
    edit_index(
        pytester.path / "checkpoints/llm" / INDEX,
        lambda d: d["metadata"].update(total_size=d["metadata"]["total_size"] + 16),
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  ~ layers.1.w * shape (4, 4) -> (4, 5)*"])


def test_tensor_infos_are_what_the_headers_declare(tmp_path: Path) -> None:
    index = write_sharded(tmp_path / "llm", SHARDS[2:])
    assert read_file(index) == ([TensorInfo("head.weight", (2, 4), "float8_e4m3fn")], [])


def test_a_model_saved_with_save_model_round_trips(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    index = write_sharded(tmp_path / "m", [state])
    assert [r.name for r in build_report(str(index)).rows] == list(state)


def test_an_index_as_written_by_other_tools_and_behind_a_symlink(tmp_path: Path) -> None:
    index = write_sharded(tmp_path / "blobs", SHARDS)
    edit_index(index, lambda d: d["metadata"].update(total_size=float(232)))
    (tmp_path / "llama").mkdir()
    (tmp_path / "llama" / INDEX).symlink_to(index)
    for shard in index.parent.glob("*.safetensors"):
        (tmp_path / "llama" / shard.name).symlink_to(shard)
    report = build_report(str(tmp_path / "llama" / INDEX))
    assert report.name == "llama", "named after the folder the user named, not the blob store"
    assert [row.name for row in report.rows] == NAMES
