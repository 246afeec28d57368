"""The command line as a newcomer meets it (issue 13): missing extras, formats, help and
tables at 80 columns, scaled summaries, progress, latency flags, packaging, small things.

Commands are driven through typer's CliRunner (or a subprocess where the process itself
matters: a missing module, the installed entry point); terminal width through COLUMNS.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest
import typer.main
from typer.testing import CliRunner

import archcalc
from archcalc.cli import app, common

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
MNV2 = str(SPECS / "mnv2.yaml")
runner = CliRunner()


def invoke(*args: str, columns: int | None = None, **kwargs):
    env = {"COLUMNS": str(columns)} if columns else {}
    return runner.invoke(app, list(args), env=env, **kwargs)


def ok(*args: str, columns: int | None = None) -> str:
    result = invoke(*args, columns=columns)
    assert result.exit_code == 0, result.output
    return result.stdout


def widest_line(text: str) -> int:
    return max(len(line) for line in text.splitlines())


# ---------------------------------------------------------------- 1. missing optional extra
@pytest.mark.parametrize("args", [
    ["verify", MNV2], ["bench", MNV2], ["sweep", MNV2, "--latency", "--widths", "1", "--resolutions", "96"],
    ["plot", "frontier", MNV2, "--x", "latency", "--widths", "1", "--resolutions", "96"],
])
def test_missing_torch_names_the_extra_and_exits_2(args, tmp_path):
    # a fresh interpreter in which `import torch` fails as in a core-only install
    code = ("import sys; sys.modules['torch'] = None; sys.modules['fvcore'] = None; "
            "from archcalc.cli import main; sys.argv = ['archcalc'] + sys.argv[1:]; main()")
    done = subprocess.run([sys.executable, "-c", code, *args, "-o" if args[0] == "plot" else "--format",
                           str(tmp_path / "f.png") if args[0] == "plot" else "table"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("archcalc: error:") and "archcalc[verify]" in lines[0] and "torch" in lines[0]


# ---------------------------------------------------------------- 2. validate readable at any width
@pytest.fixture(scope="module")
def validate_frame():
    from archcalc.validate import validate

    return validate()


@pytest.mark.parametrize("columns", [80, 120, None])
def test_validate_table_shows_every_verdict(validate_frame, columns):
    from archcalc.cli.validate import render_table

    text = render_table(validate_frame, width=columns)
    table_lines = [line for line in text.splitlines() if line.startswith(("│", "┃"))]
    if columns:
        assert widest_line(text) <= columns
    # every table line is whole: it ends with the right border (no column cut off)
    assert all(line.rstrip().endswith(("│", "┃")) for line in table_lines)
    # the status column (first), read down over its wrapped lines, is every row's status in
    # order, word for word: nothing shrunk away, no word cut
    cells = [line.strip("│┃").split("│")[0].strip() for line in table_lines[1:]]
    assert " ".join(c for c in cells if c) == " ".join(validate_frame["status"])


def test_validate_piped_is_not_cut(validate_frame):
    text = ok("validate")  # CliRunner's stdout is not a terminal and COLUMNS is unset
    for row_id in validate_frame["id"]:
        assert f" {row_id} " in text  # each id whole, on one line


# ---------------------------------------------------------------- 4. every table-printing command, every format
SMALL = ["--width", "0.35", "--resolution", "64"]
_VERIFIED: dict = {}


@pytest.fixture
def verify_once(monkeypatch):
    """verify's checks run once per model; the CLI tests here are about presenting them."""
    import archcalc.pytorch.verify as module

    real = module.verify

    def cached(model, **kwargs):
        key = (model.name, model.width, model.resolution, kwargs.get("memory"))
        if key not in _VERIFIED:
            _VERIFIED[key] = real(model, **kwargs)
        return _VERIFIED[key]

    monkeypatch.setattr(module, "verify", cached)


@pytest.fixture
def validate_once(monkeypatch, validate_frame):
    import archcalc.validate as module

    monkeypatch.setattr(module, "validate", lambda specs=None: validate_frame.copy())


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "markdown"])
@pytest.mark.parametrize("command", [
    ["cost", MNV2, *SMALL], ["memory", MNV2, *SMALL], ["verify", MNV2, *SMALL, "--no-memory"],
    ["bench", MNV2, *SMALL, "--repeats", "2", "--warmup", "0"],
    ["sweep", MNV2, "--widths", "0.5,1", "--resolutions", "96,128"],
])
def test_every_format_is_accepted(command, fmt, verify_once):
    text = ok(*command, "--format", fmt)
    if fmt == "json":
        json.loads(text)
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO("\n".join(l for l in text.splitlines() if not l.startswith("#")))))
        assert len(rows) >= 2 and len({len(r) for r in rows}) == 1
    elif fmt == "markdown":
        first = next(l for l in text.splitlines() if l.strip())
        assert first.startswith("| ") and text.splitlines()[1].startswith("|---")


def test_validate_every_format(tmp_path, validate_once):
    for fmt in ("csv", "json", "markdown", "table"):
        result = invoke("validate", "--format", fmt, "-o", str(tmp_path / f"v.{fmt}"))
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"v.{fmt}").stat().st_size > 1000


# ---------------------------------------------------------------- 5. help at 80 columns, choices, table widths
def _commands():
    root = typer.main.get_command(app)
    for name, command in root.commands.items():
        if isinstance(command, click.Group):
            for sub, subcommand in command.commands.items():
                yield [name, sub], subcommand
        else:
            yield [name], command


@pytest.mark.parametrize("path,command", list(_commands()), ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_help_at_80_columns_shows_every_option_whole(path, command):
    text = ok(*path, "--help", columns=80)
    assert widest_line(text) <= 80 and "…" not in text
    for param in command.params:
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                assert name in text, name
            assert param.help, f"{path} {param.opts[0]} has no help"
            if isinstance(param.type, click.Choice):
                assert "|".join(map(str, param.type.choices)) in text.replace("\n", "").replace(" ", "")


def test_closed_sets_are_choices_that_match_the_library():
    from archcalc.analysis.convention import BN_PARAM_MODES
    from archcalc.analysis.memory import ALIGNMENTS, DTYPE_BYTES, ORDERS
    from archcalc.plots import X_AXES

    assert [e.value for e in common.BnParams] == list(BN_PARAM_MODES)
    assert [e.value for e in common.Dtype] == list(DTYPE_BYTES)
    assert [e.value for e in common.Order] == list(ORDERS)
    assert [int(e.value) for e in common.Alignment] == list(ALIGNMENTS)
    assert [e.value for e in common.CostAxis] == list(X_AXES)
    root = typer.main.get_command(app)
    choices = {(path[-1], opt): p.type for path, c in _commands() for p in c.params for opt in getattr(p, "opts", ())}
    for command, option in [("cost", "--bn-params"), ("memory", "--order"), ("memory", "--dtype"),
                            ("memory", "--alignment"), ("frontier", "--x"), ("verify", "--device"),
                            ("bench", "--device"), ("sweep", "--dtype"), ("sweep", "--bn-params")]:
        assert isinstance(choices[(command, option)], click.Choice), (command, option)
    assert root is not None


def test_bad_choice_is_a_usage_error_exit_2():
    result = invoke("memory", MNV2, "--alignment", "3")
    assert result.exit_code == 2 and "'1', '16', '64', '512'" in result.output


@pytest.mark.parametrize("columns", [80, 100])
@pytest.mark.parametrize("command", [["cost", MNV2], ["cost", MNV2, "--depth", "3"], ["sweep", MNV2],
                                     ["memory", MNV2]])
def test_output_fits_the_terminal(command, columns):
    text = ok(*command, columns=columns)
    assert widest_line(text) <= columns


def test_a_narrow_table_names_what_it_leaves_out():
    text = ok("cost", MNV2, "--depth", "1", columns=80)
    assert "not shown at 80 columns: params (no BN), FLOPs" in " ".join(text.split())
    assert "300,775,552" in text  # the MAdds column stays
    piped = ok("cost", MNV2, "--depth", "1")  # not a terminal: the whole table
    assert "params (no BN)" in piped and "FLOPs" in piped and "not shown" not in piped


# ---------------------------------------------------------------- 6. SI prefixes in summaries, exact integers in tables
def test_summaries_scale_tables_stay_exact(tmp_path):
    big = archcalc.load(MNV2, resolution=100_000).totals()
    text = ok("cost", MNV2, "--resolution", "100000", "--depth", "1")
    summary = text.strip().splitlines()[-1]
    assert summary.startswith(f"MAdds {common.fmt_si(big['madds'])} ") and "T " in summary
    assert f"{big['madds']:,}" in text  # the table's total is the exact integer
    assert json.loads(ok("cost", MNV2, "--resolution", "100000", "--format", "json"))["totals"] == big
    # a tiny network: thousands, not "0.011M"
    spec = tmp_path / "tiny.yaml"
    spec.write_text("input: {channels: 3, resolution: 32}\nlayers:\n"
                    "  - {name: conv, op: conv2d, out: 16, kernel: 3}\n"
                    "  - {name: fc, op: conv2d, out: 600, kernel: 1}\n")
    params = archcalc.load(spec).totals()["params"]  # 3*3*3*16 + 16*600 = 10,032
    assert params == 3 * 3 * 3 * 16 + 16 * 600
    assert "params 10.03k" in ok("cost", str(spec))
    memory = ok("memory", MNV2, "--resolution", "100000")
    assert "GiB" in memory.splitlines()[0] or "TiB" in memory.splitlines()[0]


def test_si_formatting_rule():
    assert common.fmt_si(582_197_616) == "582.2M"  # 582,197,616 / 1e6 = 582.197... -> 4 digits
    assert common.fmt_si(1_201_443_369) == "1.201G"
    assert common.fmt_si(11_234) == "11.23k"
    assert common.fmt_si(999) == "999"
    assert common.fmt_si(10**400).endswith("T")  # no float overflow
    assert common.fmt_bytes(1_404_928) == "1.340 MiB"  # 1,404,928 / 2^20 = 1.3398...
    assert common.fmt_bytes(3 * 2**30) == "3.000 GiB"


# ---------------------------------------------------------------- 7. progress on a terminal, quiet when piped; the gap
def test_optimal_order_prints_gap_and_bound():
    text = ok("memory", MNV2, "--order", "optimal")
    assert "lower bound" in text and "gap" in text


def test_progress_only_on_a_terminal(monkeypatch):
    quiet = invoke("memory", MNV2, "--order", "optimal")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    monkeypatch.setattr(common, "stderr_is_terminal", lambda: True)
    shown = invoke("memory", MNV2, "--order", "optimal", columns=120)
    assert shown.exit_code == 0 and "lower bound" in shown.stderr and "gap" in shown.stderr
    bar = invoke("sweep", MNV2, "--widths", "0.5,1", "--resolutions", "96", "--memory")
    assert bar.exit_code == 0 and "sweep" in bar.stderr and "2/2" in bar.stderr


def test_search_progress_reports_valid_bounds():
    from archcalc.analysis.memory import memory_graph, MemoryConfig
    from archcalc.analysis.schedule import exact_order

    problem = memory_graph(archcalc.load(MNV2), MemoryConfig()).problem
    seen = []
    result = exact_order(problem, progress=lambda *a: seen.append(a))
    assert seen[-1] == (result.segments, result.segments, result.peak, result.lower_bound)
    for done, total, upper, lower in seen:
        assert lower <= result.peak <= upper  # a bound on both sides of the true optimum at every report


# ---------------------------------------------------------------- 8. latency: options, spread, flags, frontier
def test_bench_reports_spread_and_flags_noise():
    from archcalc.pytorch.bench import bench

    model = archcalc.load(MNV2, width=0.35, resolution=32)
    stats = bench(model, repeats=6, warmup=0, max_spread=1e-9)
    assert stats["spread"] == pytest.approx(stats["iqr_ms"] / stats["median_ms"])
    assert stats["flagged"] is (stats["spread"] > 1e-9)
    relaxed = bench(model, repeats=6, warmup=0, max_spread=1e9)
    assert relaxed["flagged"] is False


def test_sweep_latency_options_and_flag_column():
    from archcalc.analysis.sweep import sweep

    frame = sweep(MNV2, [0.35], [32, 48], latency=True, latency_repeats=3, latency_warmup=1,
                  latency_max_spread=1e9)
    assert {"latency_ms", "latency_iqr_ms", "latency_flagged"} <= set(frame.columns)
    assert "median of 3 runs after 1 warm-up" in frame.attrs["latency"]
    assert not frame["latency_flagged"].any()


def test_frontier_leaves_flagged_points_out_and_says_so():
    from archcalc.analysis.sweep import sweep
    from archcalc.plots import frontier_figure, pareto_front

    frame = sweep(MNV2, [0.35, 0.5, 0.75, 1.0, 1.4], [96, 128, 160, 192, 224])
    frame["latency_ms"] = frame["madds"] / 1e7  # a stand-in cost axis, monotone in MAdds
    known = frame.dropna(subset=["top1"])
    best = known.loc[known["top1"].astype(float).idxmax()]
    frame["latency_flagged"] = (frame["width"] == best["width"]) & (frame["resolution"] == best["resolution"])
    figure = frontier_figure(frame, x="latency")
    ax = figure.axes[0]
    pareto = [a for a in ax.get_lines() if a.get_gid() == "pareto"][0]
    trusted = known[~frame.loc[known.index, "latency_flagged"]]
    front = pareto_front(trusted["latency_ms"].tolist(), trusted["top1"].astype(float).tolist())
    assert list(pareto.get_xdata()) == pytest.approx(trusted.iloc[front]["latency_ms"].tolist())
    assert best["latency_ms"] not in list(pareto.get_xdata())
    assert [c for c in ax.collections if c.get_gid() == "flagged"]
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert any("FLAGGED" in t and "left out of the frontier" in t for t in labels)


# ---------------------------------------------------------------- 9. install, names, README, plot paths
def test_a_shipped_spec_by_name():
    by_name = json.loads(ok("cost", "mnv2", "--format", "json"))
    assert by_name["totals"] == archcalc.load(MNV2).totals()
    assert json.loads(ok("cost", "mnv2_1.4.yaml", "--format", "json"))["width"] == 1.4
    missing = invoke("cost", "mnv9")
    assert missing.exit_code == 2 and "shipped spec" in missing.stderr and "mnv2" in missing.stderr


def test_the_wheel_ships_the_specs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("archcalc-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for spec in SPECS.glob("*.yaml"):
        assert f"archcalc/specs/{spec.name}" in names
    assert "archcalc/blocks/builtin.yaml" in names and "archcalc/reference/accuracy.csv" in names


def test_shipped_specs_dir_prefers_the_installed_copy(tmp_path, monkeypatch):
    from archcalc.spec import shipped

    installed = tmp_path / "site" / "archcalc"
    (installed / "spec").mkdir(parents=True)
    (installed / "specs").mkdir()
    monkeypatch.setattr(shipped, "__file__", str(installed / "spec" / "shipped.py"))
    assert shipped.shipped_specs_dir() == installed / "specs"
    monkeypatch.undo()
    assert shipped.shipped_specs_dir() == SPECS  # a clone / editable install: the repository's specs/


def test_readme_examples_run_after_its_set_up():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("## Usage", 1)[0]
    # the set-up either activates the venv or calls its archcalc by path, so `archcalc ...` works
    assert "source .venv/bin/activate" in setup
    first = setup.split("```bash", 1)[1].split("```", 1)[0]
    assert ".venv/bin/archcalc" in first or "source .venv/bin/activate" in first


@pytest.mark.parametrize("kind,name", [("frontier", "figure5"), ("contour", "contour")])
def test_plots_write_into_the_current_directory(kind, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = ["--no-memory", "--widths", "0.5:1:0.25", "--resolutions", "96:160:32"] if kind == "contour" else []
    text = ok("plot", kind, MNV2, *extra)
    for suffix in ("png", "svg"):
        assert (tmp_path / f"{name}.{suffix}").stat().st_size > 0
        assert f"wrote {tmp_path / f'{name}.{suffix}'}" in text  # the absolute path is printed
    assert not (tmp_path / "reports").exists()


# ---------------------------------------------------------------- 10. small things
def test_version_and_bare_command():
    assert ok("--version").strip() == f"archcalc {archcalc.__version__}"
    bare = invoke()
    assert bare.exit_code == 0 and "Usage:" in bare.stdout and "cost" in bare.stdout
    # the installed entry point, through the error boundary
    done = subprocess.run([sys.executable, "-m", "archcalc"], capture_output=True, text=True)
    assert done.returncode == 0 and "Usage: archcalc" in done.stdout


def test_verify_summary_by_default_and_failures_only(verify_once):
    args = ["verify", MNV2, *SMALL, "--no-memory"]
    text = ok(*args)
    model = archcalc.load(MNV2, width=0.35, resolution=64)
    n_ops = len(model.order) - 1
    assert f"│ params               │ {n_ops + 1:>6} │" in text.replace("┃", "│")  # per node + total
    assert "stem.conv" not in text  # no per-row listing by default
    assert "stem.conv" in ok(*args, "--all-rows")
    failures = json.loads(ok(*args, "--failures-only", "--format", "json"))
    assert failures["checks"] == [] and sum(s["checks"] for s in failures["summary"]) > n_ops


def test_classes_on_a_spec_without_a_classifier_is_an_error(tmp_path):
    spec = tmp_path / "backbone.yaml"
    spec.write_text(f"input: {{channels: 3, resolution: 224}}\nlayers:\n  - {{include: {MNV2}, until: stage7}}\n")
    result = invoke("cost", str(spec), "--classes", "5")
    assert result.exit_code == 2 and "no classifier" in result.stderr
    title = ok("cost", str(spec), "--depth", "1").splitlines()[0]
    assert "classes" not in title


def test_include_until_an_unnamed_row(tmp_path):
    spec = tmp_path / "backbone.yaml"
    spec.write_text(f"input: {{channels: 3, resolution: 224}}\nlayers:\n  - {{include: {MNV2}, until: stage7}}\n")
    model = archcalc.load(spec)
    full = archcalc.load(MNV2)
    # the backbone through stage7 is MobileNetV2 minus head, pool, dropout and logits
    drop = ("head", "pool", "dropout", "logits")
    expected = sum(full.node(n)["cost"].madds for n in full.order
                   if n != "input" and n.split(".")[0] not in drop)
    assert model.totals()["madds"] == expected
    assert model.node(model.outputs[0])["shape"] == full.node("stage7.block1.project.bn")["shape"]


def test_a_default_shadowed_everywhere_is_warned(tmp_path):
    spec = tmp_path / "shadow.yaml"
    spec.write_text(f"extends: {MNV2}\ndefaults: {{t: 4, kernal: 5, kernel: 3}}\n")
    result = invoke("cost", str(spec), "--depth", "1")
    assert result.exit_code == 0
    warnings = [l for l in result.stderr.splitlines() if l.startswith("archcalc: warning:")]
    assert any("defaults.t" in w and "shadowed everywhere" in w and "bottleneck" in w for w in warnings)
    assert any("defaults.kernal" in w and "read by no layer" in w for w in warnings)
    assert not any("defaults.kernel" in w for w in warnings)  # read by every conv block


@pytest.mark.parametrize("spec", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_specs_have_no_unseen_defaults(spec, recwarn):
    archcalc.load(spec)
    assert not [w for w in recwarn if issubclass(w.category, archcalc.errors.SpecWarning)]


def test_memory_timeline_names_follow_bn_folding():
    folded = json.loads(ok("memory", MNV2, "--format", "json"))
    live = {t["tensor"] for step in folded["timeline"] for t in step["live"]} | {
        n for step in folded["timeline"] for n in step["freed"]}
    assert not [n for n in live if n.endswith(".bn")]
    kept = json.loads(ok("memory", MNV2, "--format", "json", "--no-fold-bn"))
    assert any(t["tensor"].endswith(".bn") for step in kept["timeline"] for t in step["live"])


def test_projection_row_is_labelled_linear():
    text = ok("cost", MNV2, "--depth", "3")
    project = [l for l in text.splitlines() if "project" in l]
    expand = [l for l in text.splitlines() if " expand " in l]
    assert project and all("linear" in l for l in project)
    assert expand and not any("linear" in l for l in expand)


# ---------------------------------------------------------------- 12. Figure 5
@pytest.fixture(scope="module")
def figure5():
    from archcalc.plots import spec_frontier

    figure = spec_frontier(MNV2, classes=1001, fit=True)
    figure.canvas.draw()
    return figure


def test_figure5_labels_cannot_collide(figure5):
    ax = figure5.axes[0]
    assert len(ax.texts) == 0  # no free-floating label inside the axes
    legend = figure5.legends[0]
    renderer = figure5.canvas.get_renderer()
    box, axes_box = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.x0 >= axes_box.x1  # beside the axes, never over a point
    assert box.x1 <= figure5.bbox.x1 + 1  # and inside the figure
    labels = [t.get_text() for t in legend.get_texts()]
    for name in ("NasNet-A (Table 4)", "ShuffleNet (x2) (Table 4)", "resolution 224", "resolution 96"):
        assert name in labels
    extents = [t.get_window_extent(renderer) for t in legend.get_texts()]
    assert not any(a.overlaps(b) for i, a in enumerate(extents) for b in extents[i + 1:])


@pytest.mark.parametrize("x", ["madds", "params", "memory"])
def test_frontier_x_ticks_are_plain_numbers_that_do_not_overlap(x, figure5):
    from archcalc.plots import spec_frontier

    figure = figure5 if x == "madds" else spec_frontier(MNV2, classes=1001, x=x)
    figure.canvas.draw()
    ax = figure.axes[0]
    low, high = ax.get_xlim()
    ticks = [t for t in ax.xaxis.get_major_ticks() if low <= t.get_loc() <= high]
    assert len(ticks) >= 3
    for tick in ticks:
        assert float(tick.label1.get_text().replace(",", "")) == pytest.approx(tick.get_loc())
    boxes = [t.label1.get_window_extent(figure.canvas.get_renderer()) for t in ticks]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_an_accuracy_plot_without_accuracy_is_refused(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(f"extends: {MNV2}\nname: unpublished_net\n")
    result = invoke("plot", "frontier", str(spec), "-o", str(tmp_path / "f.png"))
    assert result.exit_code == 2 and "no published accuracy" in result.stderr
    assert not (tmp_path / "f.png").exists()


# ---------------------------------------------------------------- the README's examples, byte for byte
def readme_examples() -> list[tuple[str, str]]:
    """(command line, output) of each README example that shows its whole output (an example
    with a '...' line elides some, bench's timings differ each run, verify is run above)."""
    text = (ROOT / "README.md").read_text()
    examples = []
    for block in text.split("```text\n")[1:]:
        body = block.split("```", 1)[0]
        first, _, output = body.partition("\n")
        if not first.startswith("$ archcalc ") or "..." in output.splitlines() or ";" in first:
            continue
        if first.split()[2] in ("bench", "verify"):
            continue
        examples.append((first[2:], output))
    return examples


@pytest.mark.parametrize("line,expected", readme_examples(), ids=lambda v: v[:40] if v.startswith("arch") else "")
def test_readme_example_output_is_reproduced(line, expected, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = invoke(*line.split()[1:])
    expected_exit = 1 if line.split()[1] == "diff" else 0  # diff exits 1 when the two differ, as its examples do
    assert result.exit_code == expected_exit, result.output
    assert result.stdout == expected


def test_an_op_attribute_default_is_not_reported_unseen(tmp_path):
    from archcalc.ops import get_op

    kind, attr = "batch_norm", next(iter(get_op("batch_norm").attrs))
    spec = tmp_path / "eps.yaml"
    spec.write_text(f"extends: {MNV2}\ndefaults: {{{kind}_{attr}: 0.001}}\n")
    result = invoke("cost", str(spec), "--depth", "1")
    assert result.exit_code == 0 and "warning" not in result.stderr


def test_a_shipped_spec_in_a_subfolder_by_name(tmp_path, monkeypatch):
    from archcalc.spec import loader, shipped

    (tmp_path / "zoo").mkdir()
    (tmp_path / "zoo" / "tiny_net.yaml").write_text("input: {channels: 3, resolution: 8}\n"
                                                    "layers:\n  - {op: conv2d, out: 4, kernel: 1}\n")
    monkeypatch.setattr(shipped, "shipped_specs_dir", lambda: tmp_path)
    monkeypatch.chdir(tmp_path.parent)  # no file of that name here: the bare name is looked up
    assert loader.resolve_spec_path("tiny_net") == tmp_path / "zoo" / "tiny_net.yaml"
    assert archcalc.load("tiny_net").totals()["madds"] == 8 * 8 * 3 * 4  # 1x1 conv, 3 -> 4 channels, 8 x 8


def test_a_depth_multiplier_nothing_reads_is_warned(recwarn):
    # specs/mnv2.yaml writes every n as a number (the paper's Table 2), so depth 1.5 changes nothing: say so
    with pytest.warns(archcalc.errors.SpecWarning, match="depth multiplier 1.5 is read by no layer"):
        plain = archcalc.load(ROOT / "specs" / "mnv2.yaml", depth=1.5)
    assert plain.totals()["madds"] == archcalc.load(ROOT / "specs" / "mnv2.yaml").totals()["madds"]
    # EfficientNet's rows read depth (n: ceil(n * depth)): no warning, and the network grows
    recwarn.clear()
    deeper = archcalc.load(ROOT / "specs" / "zoo" / "efficientnet_b0.yaml", depth=1.5)
    assert not [w for w in recwarn if issubclass(w.category, archcalc.errors.SpecWarning)]
    assert deeper.totals()["madds"] > archcalc.load(ROOT / "specs" / "zoo" / "efficientnet_b0.yaml").totals()["madds"]
