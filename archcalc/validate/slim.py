"""TF-slim's checkpoint tables: the 22 MobileNetV2 checkpoints (``mnv2_checkpoints.csv``,
slim ``nets/mobilenet/README.md``) and the MobileNetV1 float and quantized checkpoints
(``mnv1_checkpoints.csv``, slim ``nets/mobilenet_v1.md``)."""
from __future__ import annotations

from archcalc.analysis.convention import Convention
from archcalc.validate.conventions import params_slim_v1
from archcalc.validate.core import (DIFFERS, ROUNDED_RULES, SLIM_V2_RULES, Check, Context, _in, read_reference,
                                    total)

# slim's mobilenet_v1_arg_scope sets batch_norm scale=True: gamma, beta, moving mean and
# variance, 4 variables per channel in the checkpoint.
SLIM_ARG_SCOPE = "conv + FC + 4 BN variables/channel (slim arg scope, scale=True)"
SLIM_DERIVED = "conv + FC + 3 BN variables/channel (derived from these rows, CONVENTIONS.md §1)"

V1_TABLE = "MobileNetV1 (slim / V1 paper)"


def mnv2_checks(ctx: Context) -> list[Check]:
    checks = []
    for row in read_reference("mnv2_checkpoints.csv"):
        model = ctx.model("mnv2.yaml", width=float(row["width"]), resolution=int(row["resolution"]), classes=1001)
        settings = f"width {row['width']}, {row['resolution']}, 1001 classes"
        base = dict(table="slim MobileNetV2 checkpoints", row=row["model"], source=row["source"], spec="mnv2.yaml",
                    settings=settings)
        checks.append(Check(id=f"slim.v2.{row['model']}.macs", quantity="madds", published=row["macs_millions"],
                            unit="M", candidates=[("conv + 1001-way logits MACs", _in(total(model, "madds"), "M"))],
                            rules=SLIM_V2_RULES, **base))
        checks.append(Check(id=f"slim.v2.{row['model']}.params", quantity="params", published=row["params_millions"],
                            unit="M", candidates=[("weights + biases, no BN", _in(total(model, "params"), "M"))],
                            rules=ROUNDED_RULES, **base))
    return checks


def mnv1_checks(ctx: Context) -> list[Check]:
    checks = []
    for row in read_reference("mnv1_checkpoints.csv"):
        name = row["model"]
        if name.startswith("paper_"):
            continue  # the V1 paper's rows: archcalc.validate.mnv1_paper
        width, resolution = float(row["width"]), int(row["resolution"])
        base = dict(table=V1_TABLE, row=name, source=row["source"], spec="mnv1.yaml",
                    settings=f"width {row['width']}, {resolution}, 1001 classes")
        model = ctx.model("mnv1.yaml", width=width, resolution=resolution, classes=1001)
        madds = _in(total(model, "madds"), "M")
        madds_check = Check(id=f"v1.{name}.madds", quantity="madds", published=row["macs_millions"], unit="M",
                            candidates=[("conv + 1001-way FC MACs", madds)], rules=ROUNDED_RULES, **base)
        if width == 0.75:
            madds_check.expected = DIFFERS
            madds_check.explain = (f"Known anomaly (CONVENTIONS.md §3.8): all slim 0.75 rows are ~2.6% below the count "
                                   f"({madds:.1f}M here, {float(row['macs_millions']) / madds - 1:+.1%}); the V1 paper's "
                                   "0.75/224 value (325) matches the count, so the slim 0.75 figures are unexplained.")
        elif name.startswith("MobileNet_v1_0.25_192"):
            madds_check.expected = DIFFERS
            madds_check.explain = (f"Known anomaly: slim lists 34 but the count is {madds:.1f}M; the row trend "
                                   "(41, 34, 21, 14) points to a typo for 30.")
        checks.append(madds_check)
        params = [(SLIM_ARG_SCOPE, _in(total(model, "params", Convention(bn_params="all")), "M")),
                  (SLIM_DERIVED, _in(params_slim_v1(model), "M"))]
        checks.append(Check(id=f"v1.{name}.params", quantity="params", published=row["params_millions"], unit="M",
                            candidates=params, rules=ROUNDED_RULES, derived=(SLIM_DERIVED,), **base))
    return checks


def checks(ctx: Context, paper: dict) -> list[Check]:
    return [*mnv2_checks(ctx), *mnv1_checks(ctx)]
