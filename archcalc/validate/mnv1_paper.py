"""The MobileNetV1 paper's tables (arXiv 1704.04861 Tables 4-10; the ``paper_*`` rows of
``mnv1_checkpoints.csv``)."""
from __future__ import annotations

from archcalc.validate.core import PAPER_RULES, ROUNDED_RULES, Check, Context, _in, read_reference, total
from archcalc.validate.slim import V1_TABLE


# The V1 paper's architecture ablations and their specs.
ABLATIONS = {"paper_Conv_MobileNet_full_convolutions": "mnv1_fullconv.yaml", "paper_Shallow_MobileNet": "mnv1_shallow.yaml"}


def ablation_checks(ctx: Context, row: dict, spec: str, base: dict) -> list[Check]:
    """Table 4's full-convolution MobileNet and Table 5's shallow MobileNet (1.0, 224, 1001 classes)."""
    model = ctx.model(spec, classes=1001)
    madds, fc = total(model, "madds"), model.node("logits")["cost"].madds
    name, base = row["model"], {**base, "spec": spec}
    candidates = [("conv + 1001-way FC MACs", _in(madds, "M"))]
    explain = ""
    if spec == "mnv1_fullconv.yaml":
        params = total(model, "params")
        candidates.append(("convolutions only (the FC's MAdds left out)", _in(madds - fc, "M")))
        explain = (f"The 27 convolutions cost {(madds - fc) / 1e6:.2f}M and the 1001-way FC {fc / 1e6:.2f}M: with the FC "
                   f"the count is {madds / 1e6:.2f}M, which prints 4867, so the printed 4866 counts the convolutions "
                   f"only. The same table's MobileNet row (569 = {_in(total(ctx.model('mnv1.yaml'), 'madds'), 'M'):.2f}M) "
                   f"and this row's params ({params / 1e6:.2f}M -> 29.3; {(params - model.node('logits')['params'].weights) / 1e6:.2f}M "
                   "without the FC would print 28.3) both include the FC, so the V1 paper leaves the FC out of this one "
                   "MAdds cell (it gives no reason).")
    return [
        Check(id=f"v1.{name}.madds", quantity="madds", published=row["macs_millions"], unit="M", candidates=candidates,
              rules=PAPER_RULES, explain=explain, **base),
        Check(id=f"v1.{name}.params", quantity="params", published=row["params_millions"], unit="M",
              candidates=[("weights + biases, no BN", _in(total(model, "params"), "M"))], rules=ROUNDED_RULES, **base),
    ]


def checks(ctx: Context, paper: dict) -> list[Check]:
    checks = []
    for row in read_reference("mnv1_checkpoints.csv"):
        name = row["model"]
        if not name.startswith("paper_"):
            continue
        width, resolution = float(row["width"]), int(row["resolution"])
        dogs = name.startswith("paper_StanfordDogs")
        classes = 120 if dogs else 1001  # Stanford Dogs has 120 classes (V1 paper, fine-grained recognition)
        base = dict(table=V1_TABLE, row=name, source=row["source"], spec="mnv1.yaml",
                    settings=f"width {row['width']}, {resolution}, {classes} classes")
        if name in ABLATIONS:
            checks += ablation_checks(ctx, row, ABLATIONS[name], base)
            continue
        model = ctx.model("mnv1.yaml", width=width, resolution=resolution, classes=classes)
        madds = _in(total(model, "madds"), "M")
        checks.append(Check(id=f"v1.{name}.madds", quantity="madds", published=row["macs_millions"], unit="M",
                            candidates=[(f"conv + {classes}-way FC MACs", madds)] + (
                                [("the ImageNet network's count (1001-way FC), which the dogs rows repeat",
                                  _in(total(ctx.model("mnv1.yaml", width=width, resolution=resolution, classes=1001),
                                            "madds"), "M"))] if dogs else []),
                            rules=PAPER_RULES, **base))
        checks.append(Check(id=f"v1.{name}.params", quantity="params", published=row["params_millions"], unit="M",
                            candidates=[("weights + biases, no BN", _in(total(model, "params"), "M"))],
                            rules=ROUNDED_RULES, **base))
    return checks
