"""Seeded mutation fuzzing of the shipped specs through the CLI (issue 14).

Each mutant is a shipped spec changed by a few random edits — structured ones on the
parsed YAML (a hostile value for a scalar, a deleted key, a huge repeat count, a random op,
a broken ``from``, a hostile ``${...}`` expression) and textual ones (truncation, a
deleted or duplicated line, stray bytes, an alias bomb, deep nesting). Every mutant runs
through ``archcalc cost --format json`` and, when that succeeds, sometimes through
``sweep`` at the same point and ``memory``, each in a forked child of a process that
already imported archcalc (so a run costs milliseconds, not a cold start). For each run:

- exit 0 with consistent output (the JSON totals are the sums of the layer rows; a sweep
  row equals ``cost``; the memory peak is the largest step), or
- exit 2 with exactly one line ``archcalc: error: ...`` on stderr and no traceback;
- in both cases under ``CPU_SECONDS`` of CPU time and ``MAX_RSS`` of memory.

The suite runs a short campaign (tests/test_fuzz.py); the long run is
``python tests/fuzzing.py --count 10000 --seed 1`` (figures in docs/limits.md).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import resource
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
CPU_SECONDS = 5.0
MAX_RSS = 1 << 30  # bytes
HARD_WALL_SECONDS = 30.0  # a child still running then is killed (and reported as a hang)

HOSTILE_SCALARS = [
    0, -1, 1, 2, 3, 7, 1.5, -0.5, 1e-9, 10**6, 10**12, 10**400, float("inf"), float("-inf"), float("nan"),
    True, False, None, "", "x", "relu", "conv2d", "bottleneck", "input", "stem", "a" * 5000, "aspp1?",
    [], [1], [1, 2, 3], {}, {"a": 1}, "${width}", "${resolution}", "${c_in}", "${classes}",
]
HOSTILE_EXPRESSIONS = [
    "${'%0999999999d' % 1}", "${'a'*10000*10000*5}", "${[1]*10000*10000}", "${((((2**64)**64)**64)**64)**64}",
    "${int(1e309)}", "${ceil(1e309)}", "${floor(-1e309)}", "${round(1e300)}", "${make_divisible(1e300, 8)}",
    "${" + "-" * 5000 + "1}", "${" + "+".join(["1"] * 20000) + "}", "${9 ** 9 ** 9}", "${1/0}", "${1//0}",
    "${c_in / 0}", "${[[1]*9999]*9999}", "${'a' + 'b' * 9999 + 'c' * 9999}", "${2 ** -2000}", "${10 ** 1000}",
    "${(" * 200 + "1" + ")" * 200 + "}", "${__import__('os')}", "${().__class__}", "${lambda: 1}",
    "${[x for x in [1]]}", "${max([])}", "${min(1)}", "${int('9' * 5000)}", "${abs('x')}", "${width * 1e308}",
    "${c_in * 10 ** 300}", "${resolution ** 64}", "${-(2 ** 4000)}", "${1 if width else 'x'}", "${undefined}",
    "${", "${}", "${)}", "${'\\x00'}",
]
def _registered_ops() -> list[str]:
    from archcalc.ops.registry import all_ops

    return sorted(kind for kind in all_ops() if kind != "input") + ["bogus_op"]


OPS = _registered_ops()  # every op the registry knows (new ops are fuzzed as they land), and one it does not
ATTRS = ["out", "kernel", "stride", "padding", "dilation", "groups", "bias", "rate", "eps", "size", "scale", "t",
         "c", "s", "n", "k", "from", "when", "name", "mode", "align_corners", "factor", "start", "stop", "chunks",
         "index", "ceil_mode", "count_include_pad", "block", "slope", "approximate"]


# ----------------------------------------------------------------------------- mutations


def _paths(value, prefix=()):
    """Every (container, key) pair in a parsed YAML document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield value, key
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield value, index
            yield from _paths(item, (*prefix, index))


def _hostile(rng: random.Random):
    pick = rng.random()
    if pick < 0.35:
        return rng.choice(HOSTILE_EXPRESSIONS)
    if pick < 0.45:
        a, b = rng.choice([2, 3, 8, 64, 1024, 10**9]), rng.choice([2, 8, 64, 100, 1000])
        op = rng.choice(["*", "**", "+", "-", "//", "/", "%"])
        return f"${{{a} {op} {b}}}"
    return copy.deepcopy(rng.choice(HOSTILE_SCALARS))


BENIGN = {"c": [8, 16, 24, 96, 320], "out": [1, 8, 10, 1000], "t": [1, 2, 6], "s": [1, 2], "n": [1, 2, 4],
          "kernel": [1, 3, 5, 7], "stride": [1, 2], "k": [1, 3, 5], "groups": [1, 2], "width": [0.35, 0.5, 1.3, 2.0],
          "resolution": [1, 7, 33, 96, 160, 224, 512], "classes": [1, 10, 1000], "rate": [0.0, 0.5, 1.0],
          "dilation": [1, 2, 4], "padding": [0, 1, 2], "channels": [1, 3, 4]}


def mutate_benign(data, rng: random.Random) -> None:
    """A plausible edit (another channel count, stride, width, resolution): mostly valid
    specs, whose output is then checked for consistency."""
    slots = [(c, k) for c, k in _paths(data) if k in BENIGN]
    if slots:
        container, key = rng.choice(slots)
        container[key] = rng.choice(BENIGN[key])


def mutate_data(data, rng: random.Random) -> None:
    """One structured edit of a parsed spec, in place."""
    if rng.random() < 0.4:
        mutate_benign(data, rng)
        return
    slots = list(_paths(data))
    layers = data.get("layers") if isinstance(data, dict) else None
    kind = rng.random()
    if not slots:
        return
    if kind < 0.40:  # a hostile value somewhere
        container, key = rng.choice(slots)
        container[key] = _hostile(rng)
    elif kind < 0.55:  # a key or item removed
        container, key = rng.choice(slots)
        del container[key]
    elif kind < 0.65 and isinstance(layers, list) and layers:  # a repeat count
        row = rng.choice(layers)
        if isinstance(row, dict):
            row["n"] = rng.choice([0, 1, 50, 500, 3000, 10**7, 10**30, -3, 2.5, "${10**9}"])
    elif kind < 0.80 and isinstance(layers, list):  # a random op row inserted
        row = {"op": rng.choice(OPS)}
        for _ in range(rng.randint(0, 3)):
            row[rng.choice(ATTRS)] = _hostile(rng) if rng.random() < 0.5 else rng.choice([1, 2, 3, 8, 16, 0.5])
        layers.insert(rng.randint(0, len(layers)), row)
    elif kind < 0.90 and isinstance(layers, list) and layers:  # rows duplicated or reordered
        i, j = rng.randrange(len(layers)), rng.randrange(len(layers))
        if rng.random() < 0.5:
            layers.insert(j, copy.deepcopy(layers[i]))
        else:
            layers[i], layers[j] = layers[j], layers[i]
    else:  # a top-level setting
        key = rng.choice(["width", "classes", "input", "rounding", "defaults", "extends", "outputs", "blocks"])
        data[key] = _hostile(rng)


def mutate_text(text: str, rng: random.Random) -> str:
    """One textual edit: what a structured edit cannot produce."""
    lines = text.splitlines(keepends=True)
    kind = rng.random()
    if kind < 0.2:
        return text[: rng.randrange(len(text) + 1)]
    if kind < 0.35 and lines:
        del lines[rng.randrange(len(lines))]
        return "".join(lines)
    if kind < 0.5 and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        return "".join(lines)
    if kind < 0.6:
        at = rng.randrange(len(text) + 1)
        junk = rng.choice(["\x00", "\xff", "\t", ":", "- ", "&a ", "*a", "!!python/object:os.system ", "{", "[", "'",
                           "<<: ", "? ", "\ufeff", "%YAML 1.1\n", "---\n", "...\n"])
        return text[:at] + junk + text[at:]
    if kind < 0.75:  # an alias bomb appended to the layers' defaults
        depth, fan = rng.randint(3, 9), rng.randint(2, 10)
        bomb = ["bomb0: &b0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
        bomb += [f"bomb{d}: &b{d} [" + ", ".join([f"*b{d - 1}"] * fan) + "]" for d in range(1, depth + 1)]
        target = rng.choice(["defaults", "layers", "description", "outputs"])
        return "\n".join(bomb) + "\n" + text + f"\n{target}: *b{depth}\n"
    if kind < 0.85:
        depth = rng.choice([50, 70, 300, 900, 5000])
        return text + "\ndescription: " + "[" * depth + "]" * depth + "\n"
    merge = "base: &base {channels: 3, resolution: 64}\ninput: {<<: *base, resolution: 96}\n"
    return merge + "\n".join(line for line in text.splitlines() if not line.startswith("input:")) + "\n"


def make_mutant(rng: random.Random) -> tuple[str, str]:
    """(source spec name, mutant text): 1-3 edits of a shipped spec."""
    source = rng.choice(SPECS)
    text = source.read_text(encoding="utf-8")
    edits = rng.randint(1, 3)
    if rng.random() < 0.7:
        data = yaml.safe_load(text)
        for _ in range(edits):
            mutate_data(data, rng)
        try:
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1 << 20)
        except (yaml.YAMLError, RecursionError, ValueError):
            text = repr(data)
        if rng.random() < 0.3:
            text = mutate_text(text, rng)
    else:
        for _ in range(edits):
            text = mutate_text(text, rng)
    return source.name, text


# ----------------------------------------------------------------------------- running


@dataclass
class Run:
    args: list
    code: int
    stdout: str
    stderr: str
    cpu: float
    rss: int
    wall: float
    problems: list = field(default_factory=list)


def run_cli(args: list[str], hard_wall: float = HARD_WALL_SECONDS) -> Run:
    """``archcalc ARGS`` in a forked child (this process's imports are shared); CPU time
    and peak RSS from wait4. The child gets an address-space cap as a safety net."""
    from archcalc.cli import app
    from archcalc.cli.boundary import run

    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        code = 3
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            # the parent's sys.stdout/stderr may be objects of its own (pytest's capture)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
            code = run(app, args)
        except BaseException:  # noqa: BLE001 - a child must never return into the parent's code
            import traceback

            traceback.print_exc()
            code = 3
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code if isinstance(code, int) else 3)
    killed = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - start > hard_wall:
            os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(0.002)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    result = Run(args, code, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                 usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, wall)
    if killed:
        result.problems.append(f"killed after {hard_wall:.0f} s wall")
    return result


def check_run(run: Run) -> None:
    """The contract: exit 0, or exit 2 with one error line; never a traceback; bounded."""
    if run.cpu > CPU_SECONDS:
        run.problems.append(f"{run.cpu:.1f} s CPU")
    if run.rss > MAX_RSS:
        run.problems.append(f"{run.rss / 2**20:.0f} MiB RSS")
    if "Traceback" in run.stderr or "Traceback" in run.stdout:
        run.problems.append("traceback")
    if run.code == 2:
        lines = run.stderr.splitlines()
        if len(lines) != 1 or not lines[0].startswith("archcalc: error: "):
            run.problems.append(f"exit 2 without exactly one error line: {run.stderr[:300]!r}")
        elif "internal error" in lines[0]:  # one line, but an input must get a message about the input
            run.problems.append(f"internal error: {lines[0][:300]}")
        elif len(lines[0]) > 1000:
            run.problems.append(f"error line of {len(lines[0])} characters")
    elif run.code != 0:
        run.problems.append(f"exit {run.code}: {run.stderr[-300:]!r}")


def check_cost(run: Run) -> dict | None:
    """For a successful ``cost --format json``: the totals are the sums of the layer rows."""
    if run.code != 0:
        return None
    try:
        payload = json.loads(run.stdout)
    except ValueError:
        run.problems.append("cost printed no JSON")
        return None
    for column, total in payload["totals"].items():
        if column in payload["layers"][0] and sum(row[column] for row in payload["layers"]) != total:
            run.problems.append(f"cost total {column} is not the sum of its layers")
    return payload


def fuzz_one(rng: random.Random, folder: Path, index: int) -> tuple[str, list[Run]]:
    source, text = make_mutant(rng)
    path = folder / f"mutant{index}.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    runs = [run_cli(["cost", str(path), "--format", "json"])]
    check_run(runs[0])
    payload = check_cost(runs[0])
    if payload is not None and rng.random() < 0.3:
        width, resolution = payload["width"], payload["resolution"]
        sweep = run_cli(["sweep", str(path), "--widths", repr(float(width)), "--resolutions", str(resolution),
                         "--format", "json"])
        check_run(sweep)
        if sweep.code == 0:
            row = json.loads(sweep.stdout)["rows"][0]
            for column in ("madds", "params", "params_without_bn", "flops"):
                if row[column] != payload["totals"][column]:
                    sweep.problems.append(f"sweep {column} {row[column]} != cost {payload['totals'][column]}")
        runs.append(sweep)
    if payload is not None and rng.random() < 0.2:
        memory = run_cli(["memory", str(path), "--format", "json"])
        check_run(memory)
        if memory.code == 0:
            result = json.loads(memory.stdout)
            steps = [s["bytes"] for s in result["timeline"]]
            if result["peak_bytes"] != max(steps):
                memory.problems.append("memory peak is not the largest step")
        runs.append(memory)
    return source, runs


def campaign(count: int, seed: int, folder: Path, log=None) -> dict:
    """Run ``count`` mutants; returns the figures (inputs, runs, clean, exit codes, times)."""
    import archcalc.analysis.sweep  # noqa: F401 - imported once in the parent, shared by every child
    import archcalc.cli  # noqa: F401
    import pandas  # noqa: F401

    import shutil

    for spec in SPECS:  # mutants sit beside the shipped specs they extend or include
        shutil.copy(spec, folder / spec.name)
    rng = random.Random(seed)
    figures = {"inputs": 0, "runs": 0, "clean": 0, "exit0": 0, "exit2": 0, "failures": [], "max_cpu": 0.0,
               "max_rss_mib": 0.0, "seed": seed}
    start = time.monotonic()
    for index in range(count):
        source, runs = fuzz_one(rng, folder, index)
        figures["inputs"] += 1
        figures["runs"] += len(runs)
        bad = [r for r in runs if r.problems]
        figures["clean"] += not bad
        for r in runs:
            figures["exit0" if r.code == 0 else "exit2" if r.code == 2 else "other"] = \
                figures.get("exit0" if r.code == 0 else "exit2" if r.code == 2 else "other", 0) + 1
            figures["max_cpu"] = max(figures["max_cpu"], r.cpu)
            figures["max_rss_mib"] = max(figures["max_rss_mib"], r.rss / 2**20)
        if bad:
            kept = folder / f"failing{index}.yaml"
            (folder / f"mutant{index}.yaml").rename(kept)
            figures["failures"].append({"index": index, "source": source, "file": str(kept),
                                        "problems": [(r.args[0], r.problems) for r in bad]})
            if log:
                print(f"FAIL {index} ({source}): {[(r.args[0], r.problems) for r in bad]}", file=log, flush=True)
        else:
            (folder / f"mutant{index}.yaml").unlink()
        if log and (index + 1) % 500 == 0:
            print(f"{index + 1} inputs, {figures['clean']} clean, {time.monotonic() - start:.0f} s", file=log, flush=True)
    figures["seconds"] = round(time.monotonic() - start, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="folder for failing mutants (default: a temp folder)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="archcalc-fuzz-"))
    folder.mkdir(parents=True, exist_ok=True)
    figures = campaign(args.count, args.seed, folder, log=sys.stdout)
    figures["failures"] = figures["failures"][:50]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
