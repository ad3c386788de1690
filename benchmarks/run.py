"""Performance figures of pytest-paramform, measured side by side in one run.

    python benchmarks/run.py            # everything, 3 repeats (about 6 minutes)
    python benchmarks/run.py --quick    # one repeat, no baseline (about 75 s)

Each figure is the median of the repeats, each in a fresh process (so torch's one-time
costs count), with peak memory from the operating system. Targets are in the README
("Performance") and docs/architecture.md; a missed one is marked MISS.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def run(
    argv: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB, and stdout of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    out = child.stdout.read().decode() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0,):
        raise SystemExit(f"failed ({child.returncode}): {' '.join(argv)}\n{out[-2000:]}")
    return wall, usage.ru_maxrss / 1024, out


def median_of(repeats: int, measure: Callable[[], tuple[float, ...]]) -> tuple[float, ...]:
    samples = [measure() for _ in range(repeats)]
    return tuple(statistics.median(column) for column in zip(*samples, strict=True))


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def zoo(repeats: int, baseline: bool) -> list[str]:
    suite = [PYTHON, "-m", "pytest", "examples/torchvision_zoo", "-q", "-p", "no:cacheprovider"]
    wall, rss = median_of(repeats, lambda: run(suite)[:2])
    lines = [
        "zoo: 80 torchvision classifiers checked against goldens (pytest, one process)",
        f"  wall {wall:.2f} s [target < 8 s: {verdict(wall < 8)}]"
        f"   peak RSS {rss:.0f} MB [target < 1024 MB: {verdict(rss < 1024)}]",
    ]
    if baseline:
        base_wall, base_rss, _ = run([PYTHON, str(HERE / "baseline_zoo.py")])
        ratio = base_wall / wall
        lines += [
            f"  baseline, the same models built with real weights: wall {base_wall:.2f} s,"
            f" peak RSS {base_rss:.0f} MB",
            f"  ratio: {ratio:.1f}x faster [target >= 5x: {verdict(ratio >= 5)}],"
            f" {base_rss / rss:.1f}x less memory",
        ]
    return lines


SCALE = textwrap.dedent(
    """
    import json, resource, sys, time
    sys.path.insert(0, {here!r})
    import torch
    from torch import nn
    from llm import Decoder
    from pytest_paramform import ParamFormReport, build_report, compare

    def rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    class Many(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.params = nn.ParameterList(nn.Parameter(torch.empty(4, 8)) for _ in range(n))

    {setup}
    factory = {factory}
    before, start = rss(), time.perf_counter()
    report = build_report(factory)
    built = time.perf_counter()
    back = from_yaml(to_yaml(report))
    assert compare(back, report) == []
    done = time.perf_counter()
    print(json.dumps({{"build": built - start, "total": done - start, "rss": rss() - before,
                      "tensors": report.num_layers, "parameters": report.num_parameters}}))
    """
)


def scale_case(repeats: int, factory: str, setup: str = "") -> dict[str, float]:
    code = SCALE.format(here=str(HERE), factory=factory, setup=setup)

    def once() -> tuple[float, ...]:
        figures = json.loads(run([PYTHON, "-c", code])[2].splitlines()[-1])
        return tuple(figures[k] for k in ("build", "total", "rss", "tensors", "parameters"))

    build, total, rss, tensors, parameters = median_of(repeats, once)
    return {
        "build": build,
        "total": total,
        "rss": rss,
        "tensors": tensors,
        "parameters": parameters,
    }


def scale(repeats: int) -> list[str]:
    llm = scale_case(repeats, "Decoder")
    small = scale_case(repeats, "lambda: Many(10_000)")
    large = scale_case(repeats, "lambda: Many(100_000)")
    growth = large["total"] / small["total"]
    return [
        f"scale: a 70B-shaped decoder ({llm['tensors']:.0f} tensors, {llm['parameters'] / 1e9:.1f}B"
        " parameters) built without weights, reported, rendered, parsed and compared",
        f"  {llm['total']:.3f} s after torch import (build {llm['build']:.3f} s)"
        f" [target < 0.5 s: {verdict(llm['total'] < 0.5)}]"
        f"   RSS growth {llm['rss']:.0f} MB [target < 100 MB: {verdict(llm['rss'] < 100)}]",
        f"  10,000 tensors: {small['total']:.2f} s   100,000 tensors: {large['total']:.2f} s"
        f" [target < 5 s: {verdict(large['total'] < 5)}]   ratio {growth:.1f}x for 10x the"
        " tensors (linear: about 10x)",
        *moe(repeats),
    ]


# The default deepseek_v3 config (671B parameters, fused expert weights made at full size):
# transformers and the model's module are imported before the clock starts.
MOE_SETUP = (
    "import transformers; config = transformers.AutoConfig.for_model('deepseek_v3'); "
    "cls = transformers.MODEL_FOR_CAUSAL_LM_MAPPING[type(config)]"
)


def moe(repeats: int) -> list[str]:
    try:
        import transformers  # noqa: F401
    except ImportError:
        return ["  671B MoE config: skipped (transformers is not installed: the hf extra)"]
    figures = scale_case(repeats, "lambda: cls(config)", MOE_SETUP)
    return [
        f"  the default deepseek_v3 config ({figures['tensors']:.0f} tensors,"
        f" {figures['parameters'] / 1e9:.0f}B parameters): {figures['total']:.2f} s"
        f" [target < 5 s: {verdict(figures['total'] < 5)}]   RSS growth {figures['rss']:.0f} MB"
        f" [target < 200 MB: {verdict(figures['rss'] < 200)}]",
    ]


def plugin_load(repeats: int) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        suite = Path(folder)
        (suite / "pytest.ini").write_text("[pytest]\n")
        for i in range(20):
            tests = "".join(f"def test_{j}():\n    assert {j} == {j}\n\n" for j in range(10))
            (suite / f"test_plain_{i}.py").write_text(tests)
        base = [PYTHON, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider"]
        samples = []
        for _ in range(max(repeats, 5)):
            with_plugin = run(base, cwd=suite)[0]
            without = run([*base, "-p", "no:paramform"], cwd=suite)[0]
            samples.append(with_plugin - without)
    extra = statistics.median(samples) * 1000
    return [
        "plugin load: pytest --co on a 200-test suite that never takes a snapshot,"
        " plugin vs -p no:paramform",
        f"  {extra:+.1f} ms [target < 30 ms: {verdict(extra < 30)}]",
    ]


DIFF = textwrap.dedent(
    """
    import json, time
    from pytest_paramform import ParamFormReport, ParamRow, compare, render_drift
    rows = tuple(ParamRow(f"blocks.{{i}}.weight", (64, 64)) for i in range(2000))
    golden = to_yaml(ParamFormReport("m", rows))
    changed = ParamFormReport("m", tuple(
        ParamRow(r.name, (64, 65)) if i % 2 else r for i, r in enumerate(rows)))
    start = time.perf_counter()
    message = render_drift(compare(from_yaml(golden), changed),
                           model="m", golden="g.yaml", accept="pytest --paramform-update")
    print(json.dumps({{"seconds": time.perf_counter() - start,
                      "lines": len(message.splitlines())}}))
    """
)


def diff(repeats: int) -> list[str]:
    def once() -> tuple[float, ...]:
        figures = json.loads(run([PYTHON, "-c", DIFF.format()])[2].splitlines()[-1])
        return figures["seconds"], figures["lines"]

    seconds, lines = median_of(repeats, once)
    return [
        "diff: a 2,000-tensor golden against a model with 1,000 changed tensors",
        f"  parse + compare + message in {seconds:.3f} s"
        f" [target < 0.2 s: {verdict(seconds < 0.2)}],"
        f" {lines:.0f} lines (capped at 40 tensor lines)",
    ]


FOLD = textwrap.dedent(
    """
    import json, time
    from pytest_paramform import ParamFormReport, ParamRow, compare
    from pytest_paramform.comparison.fold import fold, render_lines
    names = [f"model.layers.{{i}}.experts.{{j}}.w{{k}}" for i in range(500) for j in range(50)
             for k in range(4)]
    before = ParamFormReport("m", tuple(ParamRow(n, (64, 64)) for n in names))
    after = ParamFormReport("m", tuple(ParamRow(n, (64, 65 + i % 4 % 3))
                                       for i, n in enumerate(names)))
    start = time.perf_counter()
    drifts = [d for d in compare(before, after) if d.kind == "changed"]
    compared, cpu = time.perf_counter(), time.process_time()
    lines = render_lines(fold(drifts, before=before.rows, after=after.rows))
    print(json.dumps({{"compare": compared - start, "fold": time.perf_counter() - compared,
                      "cpu": time.process_time() - cpu, "tensors": len(drifts),
                      "lines": len(lines)}}))
    """
)


def folding(repeats: int) -> list[str]:
    def once() -> tuple[float, ...]:
        figures = json.loads(run([PYTHON, "-c", FOLD.format()])[2].splitlines()[-1])
        keys = ("compare", "fold", "cpu", "tensors", "lines")
        return tuple(figures[key] for key in keys)

    compared, folded, cpu, tensors, lines = median_of(repeats, once)
    return [
        f"fold: a drift of {tensors:,.0f} changed tensors (500 layers x 50 experts x 4,"
        " three kinds of change) folded into lines",
        f"  fold {folded:.3f} s ({cpu:.3f} s CPU) [target < 1 s: {verdict(folded < 1)}],"
        f" {folded / compared:.2f}x the compare's {compared:.3f} s, {lines:,.0f} lines",
    ]


SUITE = "def test_llm(paramform_snapshot):\n    paramform_snapshot({where!r})\n"


def sharded(repeats: int) -> list[str]:
    """A DeepSeek-V3-shaped index: paramform check against the check written by hand, in
    alternating pairs, and an update run against a check run of the same pytest test."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ckpt, golden = root / "ckpt", root / "golden.yaml"
        run([PYTHON, str(HERE / "sharded.py"), "build", str(ckpt)])
        paramform = [PYTHON, "-m", "pytest_paramform"]
        run([*paramform, "report", str(ckpt), "--format", "yaml", "--output", str(golden)])
        ours = [*paramform, "check", str(ckpt), str(golden)]
        hand = [PYTHON, str(HERE / "sharded.py"), "by-hand", str(ckpt)]
        pairs = [(*run(ours)[:2], *run(hand)[:2]) for _ in range(max(repeats, 3))]
        wall, rss, hand_wall, hand_rss = (statistics.median(c) for c in zip(*pairs, strict=True))
        ratio = statistics.median(h / o for o, _, h, _ in pairs)
        (root / "test_llm.py").write_text(SUITE.format(where=str(ckpt)))
        (root / "pytest.ini").write_text("[pytest]\n")
        pytest = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)]
        update = statistics.median(
            run([*pytest, "--paramform-update"], cwd=root)[0] for _ in range(3)
        )
        check = statistics.median(run(pytest, cwd=root)[0] for _ in range(3))
    return [
        "sharded: paramform check of a 163-shard, 89,395-tensor safetensors index vs a check"
        " written by hand (safe_open every shard, compare with a JSON golden)",
        f"  paramform {wall:.2f} s, {rss:.0f} MB [target < 300 MB: {verdict(rss < 300)}];"
        f" by hand {hand_wall:.2f} s, {hand_rss:.0f} MB",
        f"  ratio: {ratio:.2f}x faster [target >= 2.5x: {verdict(ratio >= 2.5)}]",
        f"  pytest --paramform-update {update:.2f} s vs a check run {check:.2f} s:"
        f" {update / check:.2f}x [target < 2x: {verdict(update / check < 2)}]",
    ]


def hf_suite(repeats: int) -> list[str]:
    """100 ``hf:`` config goldens checked by pytest against the loop a user would write
    (each model built under ``torch.device("meta")``, its parameters listed), in pairs; and,
    for scale, against that loop written as 100 pytest tests (pytest's own costs on both
    sides: what the plugin adds to a suite).

    Both write bytecode, as Python does by default, to a cache of their own (an environment
    with PYTHONDONTWRITEBYTECODE would make pytest rewrite its plugins' modules every run);
    the update run that writes the goldens fills it."""
    if importlib.util.find_spec("transformers") is None:  # found, never imported here
        return ["hf suite: skipped (transformers is not installed: the hf extra)"]
    with tempfile.TemporaryDirectory() as folder:
        root, loop = Path(folder) / "suite", Path(folder) / "loop"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "bytecode")
        run([PYTHON, str(HERE / "hf_suite.py"), "write", str(root)])
        run([PYTHON, str(HERE / "hf_suite.py"), "loop", str(root), str(loop)])
        pytest = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)]
        run([*pytest, "--paramform-update"], cwd=root, env=env)
        bare = [PYTHON, str(HERE / "hf_suite.py"), "bare", str(root)]
        tests = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(loop)]
        triples = [
            (
                run(pytest, cwd=root, env=env)[0],
                run(bare, cwd=root, env=env)[0],
                run(tests, cwd=loop, env=env)[0],
            )
            for _ in range(repeats)
        ]
    wall, bare_wall, tests_wall = (statistics.median(c) for c in zip(*triples, strict=True))
    ratio = statistics.median(ours / loop for ours, loop, _ in triples)
    in_pytest = statistics.median(ours / tests for ours, _, tests in triples)
    return [
        "hf suite: pytest checking 100 hf: config goldens (Llama, Mistral, Qwen2, Gemma;"
        " 4-32 layers) vs a loop building them on meta and listing their parameters",
        f"  pytest {wall:.2f} s, the loop {bare_wall:.2f} s: {ratio:.2f}x as long"
        f" [target <= 1.0x: {verdict(ratio <= 1.0)}]",
        f"  the loop as 100 pytest tests {tests_wall:.2f} s: the goldens take {in_pytest:.2f}x"
        " as long",
    ]


MILLION = textwrap.dedent(
    """
    import json, resource, sys, tempfile, time
    from pathlib import Path
    from pytest_paramform import ParamFormReport, ParamRow, compare, to_yaml
    from pytest_paramform.cli.inputs import load_golden
    from pytest_paramform.files import write_text
    start = time.perf_counter()
    rows = tuple(ParamRow(f"blocks.{{i // 4}}.layer.{{i % 4}}.weight", (8, 8) if i % 2 else (8,))
                 for i in range(1_000_000))
    report = ParamFormReport("big", rows)
    with tempfile.TemporaryDirectory() as folder:
        golden = Path(folder) / "big.paramform.yaml"
        write_text(golden, to_yaml(report))
        size = golden.stat().st_size
        assert compare(load_golden(golden), report) == []
    print(json.dumps({{"seconds": time.perf_counter() - start, "mb": size / 1e6,
                      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
    """
)


def million() -> list[str]:
    figures = json.loads(run([PYTHON, "-c", MILLION.format()])[2].splitlines()[-1])
    seconds, rss = figures["seconds"], figures["rss"]
    return [
        "1,000,000 tensors: build the report, write the YAML golden, read it back, compare",
        f"  {seconds:.1f} s [target < 60 s: {verdict(seconds < 60)}], golden"
        f" {figures['mb']:.0f} MB, peak RSS {rss:.0f} MB [target < 2048 MB: {verdict(rss < 2048)}]",
    ]


FORWARD_ZOO = textwrap.dedent(
    """
    import functools, json, time
    import torchvision
    from pytest_paramform import build_report

    names = torchvision.models.list_models(module=torchvision.models)
    builders = [functools.partial(torchvision.models.get_model_builder(n), weights=None)
                for n in names]
    build_report(builders[0], inputs=(1, 3, 224, 224))  # torch's one-time lazy loading
    start = time.perf_counter()
    for builder in builders:
        build_report(builder)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    for name, builder in zip(names, builders):
        size = 299 if name == "inception_v3" else 224
        build_report(builder, inputs=(1, 3, size, size))
    forward = time.perf_counter() - start
    print(json.dumps({"plain": plain, "forward": forward, "models": len(names)}))
    """
)
FORWARD_LLM = textwrap.dedent(
    """
    import json, time
    import transformers
    from pytest_paramform import build_report

    def llama(**size):
        return lambda: transformers.LlamaForCausalLM(transformers.LlamaConfig(**size))

    tiny = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                num_attention_heads=4, num_key_value_heads=2, vocab_size=100)
    build_report(llama(**tiny), inputs={"input_ids": ((1, 8), "int64")})  # lazy loading
    big = llama(hidden_size=8192, intermediate_size=28672, num_hidden_layers=80,
                num_attention_heads=64, num_key_value_heads=8, vocab_size=128256)
    start = time.perf_counter()
    build_report(big)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    report = build_report(big, inputs={"input_ids": ((1, 128), "int64")})
    forward = time.perf_counter() - start
    print(json.dumps({"plain": plain, "forward": forward, "flops": report.forward.flops}))
    """
)


def forward(repeats: int) -> list[str]:
    """The forward section's cost: the zoo with and without it, and a 70B-shaped Llama."""

    def measure(code: str, keys: tuple[str, ...]) -> tuple[float, ...]:
        def once() -> tuple[float, ...]:
            figures = json.loads(run([PYTHON, "-c", code])[2].splitlines()[-1])
            return tuple(figures[k] for k in keys)

        return median_of(repeats, once)

    plain, with_forward, models = measure(FORWARD_ZOO, ("plain", "forward", "models"))
    ratio = with_forward / plain
    llm_plain, llm_forward, flops = measure(FORWARD_LLM, ("plain", "forward", "flops"))
    section = llm_forward - llm_plain
    return [
        f"forward: {models:.0f} torchvision classifiers reported in one process, without and"
        " with inputs=(1, 3, 224, 224) (output shapes and FLOPs on meta)",
        f"  {plain:.2f} s -> {with_forward:.2f} s, {ratio:.1f}x"
        f" [target < 2x: {verdict(ratio < 2)}]",
        f"  a 70B-shaped Llama (transformers), 128 tokens: report {llm_plain:.2f} s, with the"
        f" forward section {llm_forward:.2f} s ({flops / 1e12:.1f} TFLOPs)",
        f"  the forward section costs {section:.2f} s [target < 2 s: {verdict(section < 2)}]",
    ]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    # Read from the metadata, never imported: a parent that holds torch (500 MB) would be
    # counted in every child's peak memory (Linux charges a child the memory its parent
    # had when it started).
    torch = importlib.metadata.version("torch")
    return f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, torch {torch}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat, no baseline")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    print(f"pytest-paramform benchmarks ({machine()}; medians of {repeats})")
    measures: list[Callable[[], list[str]]] = [
        lambda: zoo(repeats, baseline=not args.quick),
        lambda: scale(repeats),
        lambda: plugin_load(repeats),
        lambda: diff(repeats),
        lambda: folding(repeats),
        lambda: sharded(repeats),
        lambda: hf_suite(repeats),
        lambda: forward(repeats),
    ]
    if not args.quick:
        measures.append(million)
    for measure in measures:  # printed as each finishes: the whole run takes minutes
        print("\n".join(measure()), flush=True)


if __name__ == "__main__":
    main()
