"""The MobileNetV1 paper's tables (arXiv 1704.04861 Tables 4-10; the ``paper_*`` rows of
``mnv1_checkpoints.csv``)."""
from __future__ import annotations

from archcalc.validate.core import NOT_COMPUTED, PAPER_RULES, ROUNDED_RULES, Check, Context, _in, read_reference, total
from archcalc.validate.slim import V1_TABLE


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
        if not name.startswith(("paper_0", "paper_1")) and not dogs:
            for quantity in ("madds", "params"):
                checks.append(Check(id=f"v1.{name}.{quantity}", quantity=quantity,
                                    published=row["macs_millions" if quantity == "madds" else "params_millions"],
                                    unit="M", expected=NOT_COMPUTED, **{**base, "spec": ""},
                                    explain="A V1-paper ablation (full convolutions or the shallow variant); "
                                            "archcalc has no spec for it."))
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
