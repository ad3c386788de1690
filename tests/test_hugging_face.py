"""Hugging Face transformers models from their config.json: `hf:PATH`, in the CLI, through
the fixture, and against a real build."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import transformers

from pytest_paramform import ParamFormReport, SourceError, build_report
from pytest_paramform.cli import main
from pytest_paramform.sources.hf_configs import ShippedCodeIgnored
from pytest_paramform.sources.specs import resolve

from suites import run

pytest_plugins = ["pytester"]

# pytester's in-process runs drop the modules first imported inside them, and transformers'
# lazy modules break when imported twice: the classes the inner suites build load here.
LOADED_HERE = (transformers.GPT2LMHeadModel, transformers.BertModel)

# The published base models' totals, as a real build counts them (tied weights once).
ROBERTA_BASE = {"max_position_embeddings": 514, "type_vocab_size": 1}
TOTALS = {
    "gpt2": (transformers.GPT2Config, {}, "GPT2LMHeadModel", 124_439_808),
    "bert": (transformers.BertConfig, {}, None, 109_482_240),
    "roberta": (transformers.RobertaConfig, ROBERTA_BASE, None, 124_645_632),
    "distilbert": (transformers.DistilBertConfig, {}, None, 66_362_880),
}


def save_config(folder: Path, config: transformers.PretrainedConfig) -> Path:
    config.save_pretrained(str(folder))
    return folder


def gpt2_config(**changes: object) -> transformers.GPT2Config:
    config = transformers.GPT2Config(**changes)
    config.architectures = ["GPT2LMHeadModel"]
    return config


def from_spec(spec: str) -> ParamFormReport:
    factory, name = resolve(spec)
    return build_report(factory, name)


def real_build(config: transformers.PretrainedConfig, cls: type) -> ParamFormReport:
    """The report of the model built for real: allocated and initialised."""
    return build_report(cls(config))


@pytest.mark.parametrize("model", sorted(TOTALS))
def test_a_config_folder_reports_the_total_a_real_build_has(model: str, tmp_path: Path) -> None:
    config_cls, changes, architecture, total = TOTALS[model]
    config = config_cls(**changes)
    config.architectures = [architecture] if architecture else None
    report = from_spec(f"hf:{save_config(tmp_path / model, config)}")
    assert report.name == model
    assert report.num_parameters == total


def test_gpt2_from_its_folder_equals_a_real_build_names_shapes_and_ties(tmp_path: Path) -> None:
    folder = save_config(tmp_path / "gpt2", gpt2_config(n_layer=2))
    report = from_spec(f"hf:{folder}")
    real = real_build(gpt2_config(n_layer=2), transformers.GPT2LMHeadModel)
    assert report.rows == real.rows
    tie = ("lm_head.weight", "transformer.wte.weight")
    assert [(a.name, a.target) for a in report.aliases] == [tie]
    assert report.aliases == real.aliases


def test_without_architectures_the_automodel_for_the_model_type_is_built(tmp_path: Path) -> None:
    config = transformers.BertConfig(num_hidden_layers=1)
    folder = save_config(tmp_path / "tiny-bert", config)
    report = from_spec(f"hf:{folder}")
    assert report.rows == real_build(config, transformers.BertModel).rows


def test_the_config_file_itself_is_a_spec_too_and_names_the_model_after_its_folder(
    tmp_path: Path,
) -> None:
    folder = save_config(tmp_path / "llama-tiny", transformers.LlamaConfig(num_hidden_layers=1))
    by_folder = from_spec(f"hf:{folder}")
    by_file = from_spec(f"hf:{folder / 'config.json'}")
    assert by_file == by_folder
    assert by_file.name == "llama-tiny"
    renamed = tmp_path / "llama-small.json"
    renamed.write_text((folder / "config.json").read_text())
    assert from_spec(f"hf:{renamed}").name == "llama-small"


def test_bad_config_paths_and_contents_name_the_problem_and_the_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such config file"):
        from_spec(f"hf:{tmp_path / 'missing'}")
    with pytest.raises(SourceError, match=r"a folder without config\.json"):
        from_spec(f"hf:{tmp_path}")
    broken = tmp_path / "broken.json"
    broken.write_text('{"model_type": "gpt2",')
    with pytest.raises(SourceError, match=r"broken\.json: is not a JSON model config"):
        from_spec(f"hf:{broken}")
    untyped = tmp_path / "untyped.json"
    untyped.write_text('{"hidden_size": 8}')
    with pytest.raises(SourceError, match=r"untyped\.json: has no model_type"):
        from_spec(f"hf:{untyped}")
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"model_type": "no-such-model-type"}')
    with pytest.raises(SourceError, match=r"unknown\.json: transformers .* cannot read this"):
        from_spec(f"hf:{unknown}")


@pytest.mark.parametrize(
    ("architectures", "message"),
    [
        (["set_seed"], "'set_seed', which is not a model class of transformers"),
        (["pipeline"], "'pipeline', which is not a model class of transformers"),
        ("GPT2Model", "architectures must be a list of class names, not 'GPT2Model'"),
    ],
)
def test_architectures_must_name_a_model_class(
    architectures: object, message: str, tmp_path: Path
) -> None:
    config = tmp_path / "odd.json"
    config.write_text(json.dumps({"model_type": "gpt2", "architectures": architectures}))
    with pytest.raises(SourceError, match=re.escape(message)):
        from_spec(f"hf:{config}")


def test_an_auto_class_as_architecture_builds_the_model_for_the_config(tmp_path: Path) -> None:
    config = gpt2_config(n_layer=1)
    config.architectures = ["AutoModelForCausalLM"]
    folder = save_config(tmp_path / "auto", config)
    assert from_spec(f"hf:{folder}").rows == from_spec(
        f"hf:{save_config(tmp_path / 'gpt2', gpt2_config(n_layer=1))}"
    ).rows


def test_a_dotted_config_file_name_keeps_its_dots(tmp_path: Path) -> None:
    folder = save_config(tmp_path / "src", transformers.GPT2Config(n_layer=1))
    for name in ("qwen2.5-0.5b.json", "qwen2.5-7b.json"):
        (tmp_path / name).write_text((folder / "config.json").read_text())
    assert from_spec(f"hf:{tmp_path / 'qwen2.5-7b.json'}").name == "qwen2.5-7b"


def test_two_specs_with_one_name_do_not_overwrite_each_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = save_config(tmp_path / "a" / "gpt2", gpt2_config(n_layer=1))
    two = save_config(tmp_path / "b" / "gpt2", gpt2_config(n_layer=2))
    out = tmp_path / "out"
    assert main(["report", f"hf:{one}", f"hf:{two}", "--output-dir", str(out)]) == 2
    assert "are both named 'gpt2'" in capsys.readouterr().err
    assert not out.exists(), "nothing is written"


def test_an_hf_spec_is_a_source_of_the_python_api(tmp_path: Path) -> None:
    folder = save_config(tmp_path / "tiny-gpt2", gpt2_config(n_layer=1))
    report = build_report(f"hf:{folder}")
    assert report == from_spec(f"hf:{folder}")
    assert report.name == "tiny-gpt2"


def test_code_shipped_beside_a_config_is_never_run(tmp_path: Path) -> None:
    folder = tmp_path / "custom"
    folder.mkdir()
    ran = tmp_path / "ran"
    (folder / "modeling_custom.py").write_text(f"open({str(ran)!r}, 'w').write('ran')\n")
    config = {
        "model_type": "gpt2",
        "architectures": ["CustomForCausalLM"],
        "auto_map": {"AutoModelForCausalLM": "modeling_custom.CustomForCausalLM"},
    }
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(SourceError, match=r"'CustomForCausalLM'.*never run"):
        from_spec(f"hf:{folder}")
    assert not ran.exists()


def test_shipped_code_beside_a_builtin_architecture_is_ignored_and_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = save_config(tmp_path / "custom", gpt2_config(n_layer=1))
    ran = tmp_path / "ran"
    (folder / "modeling_custom.py").write_text(f"open({str(ran)!r}, 'w').write('ran')\n")
    data = json.loads((folder / "config.json").read_text())
    data["auto_map"] = {"AutoModelForCausalLM": "modeling_custom.CustomForCausalLM"}
    (folder / "config.json").write_text(json.dumps(data))
    plain = save_config(tmp_path / "plain", gpt2_config(n_layer=1))
    with pytest.warns(ShippedCodeIgnored, match=r"CustomForCausalLM\) was not run"):
        report = build_report(f"hf:{folder}")
    assert report.rows == build_report(f"hf:{plain}").rows, "transformers' own GPT2LMHeadModel"
    assert main(["report", f"hf:{folder}", "--format", "yaml"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"paramform: note: {folder / 'config.json'}: the code its auto_map")
    assert "this is transformers' own GPT2LMHeadModel" in err
    assert not ran.exists()


def test_the_cli_reports_a_config_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = save_config(tmp_path / "gpt2", gpt2_config(n_layer=1))
    assert main(["report", f"hf:{folder}", "--format", "yaml"]) == 0
    out = capsys.readouterr().out
    assert "model: gpt2\n" in out
    assert "- {name: lm_head.weight, target: transformer.wte.weight}\n" in out


def test_a_missing_config_is_a_clean_cli_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", f"hf:{tmp_path / 'nope'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paramform: error: ")
    assert "no such config file" in err


def test_a_relative_config_is_found_under_the_root_wherever_the_run_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, here = tmp_path / "root", tmp_path / "here"
    save_config(root / "configs" / "small", gpt2_config(n_layer=1, n_embd=8, n_head=2))
    here.mkdir()
    monkeypatch.chdir(here)
    factory, name = resolve("hf:configs/small", root)
    assert name == "small"
    assert build_report(factory).num_parameters == build_report(
        f"hf:{root / 'configs' / 'small'}"
    ).num_parameters
    with pytest.raises(SourceError, match="no such config"):
        resolve("hf:configs/small")  # from here, without the root


GUARD_FOLDER = """
import pytest

CONFIGS = sorted(p.name for p in __import__("pathlib").Path("configs").iterdir())


@pytest.mark.parametrize("name", CONFIGS)
def test_config(paramform_snapshot, name):
    paramform_snapshot(f"hf:configs/{name}")
"""


def test_a_folder_of_configs_is_guarded_by_one_parametrized_test(
    pytester: pytest.Pytester,
) -> None:
    """GPT-2 and BERT at full size through the fixture: written with their real totals,
    passing, then failing on untied embeddings with the right message."""
    save_config(pytester.path / "configs" / "gpt2", gpt2_config())
    save_config(pytester.path / "configs" / "bert", transformers.BertConfig())
    pytester.makepyfile(test_configs=GUARD_FOLDER)
    run(pytester, "--paramform-update").assert_outcomes(passed=2)
    snapshots = pytester.path / "__snapshots__/test_configs"
    gpt2 = (snapshots / "test_config[gpt2].paramform.yaml").read_text()
    bert = (snapshots / "test_config[bert].paramform.yaml").read_text()
    assert "model: gpt2\nlayers: 148\nparameters: 124439808\n" in gpt2
    assert "model: bert\nlayers: 199\nparameters: 109482240\n" in bert
    run(pytester).assert_outcomes(passed=2)

    save_config(pytester.path / "configs" / "gpt2", gpt2_config(tie_word_embeddings=False))
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "paramform: gpt2 differs from __snapshots__/test_configs/test_config?gpt2?.*",
            "  tying broken: lm_head.weight no longer shares transformer.wte.weight "
            "(+38,597,376 parameters)",
            "  totals: layers 148 -> 149, parameters 124,439,808 -> 163,037,184 *",
        ]
    )


SPECS = """
def test_torchvision(paramform_snapshot):
    paramform_snapshot("torchvision:resnet18")

def test_own(paramform_snapshot):
    paramform_snapshot("test_specs:Net", name="tiny")

import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
"""


def test_the_fixture_takes_the_spec_strings_the_cli_takes_and_name_names_the_model(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_specs=SPECS)
    run(pytester, "--paramform-update", "-p", "no:randomly").assert_outcomes(passed=2)
    snapshots = pytester.path / "__snapshots__/test_specs"
    assert "model: resnet18\n" in (snapshots / "test_torchvision.paramform.yaml").read_text()
    own = snapshots / "test_own[tiny].paramform.yaml"
    assert "model: tiny\n" in own.read_text()
    run(pytester).assert_outcomes(passed=2)
