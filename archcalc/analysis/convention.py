"""The counting convention: every choice behind a number, printed with the number."""
from __future__ import annotations

from typing import NamedTuple

from archcalc.ops.base import EXTRA_TERMS

# bn_params mode -> (its description, the Params fields it counts)
BN_PARAM_MODES: dict[str, tuple[str, tuple[str, ...]]] = {
    "none": ("no BN", ()),
    "affine": ("BN gamma+beta (2/channel)", ("bn_affine",)),
    "all": ("BN gamma+beta+mean+var (4/channel)", ("bn_affine", "bn_stats")),
}


class _ConventionTerms(NamedTuple):
    batch: int = 1
    flops_per_madd: int = 2
    flops_terms: tuple[str, ...] = EXTRA_TERMS
    bn_params: str = "affine"


class Convention(_ConventionTerms):
    """How totals are counted.

    * ``madds`` is always the headline: conv and linear multiply-adds, one multiply-add = 1
      (this is what reproduces the paper's 300M for MobileNetV2 1.0/224).
    * ``flops = flops_per_madd * madds + sum(extra terms listed in flops_terms)``; the
      extra terms are bias adds, batch norm, activations, element-wise adds/products,
      pooling and resize, each documented on its op in the registry.
    * ``params`` counts batch norm as ``bn_params`` says: ``affine`` = gamma and beta
      (2 per channel, PyTorch's ``parameters()``), ``all`` adds running mean and variance
      (4 per channel, Keras ``count_params``), ``none`` = 0 (slim's MobileNetV2 table).
      ``params_without_bn`` is reported beside it in every case.
    * ``batch`` multiplies every operation count (never parameters).

    An immutable record (a named tuple: the ``archcalc cost`` start-up does not import
    dataclasses, issue 12), checked when made.
    """

    __slots__ = ()

    def __new__(cls, *args, **kwargs) -> "Convention":  # noqa: ANN002, ANN003 - the fields above
        self = super().__new__(cls, *args, **kwargs)
        self._check()
        return self

    @classmethod
    def _make(cls, iterable) -> "Convention":  # noqa: ANN001 - namedtuple's signature
        # namedtuple's _make (behind _replace, pickling aside) builds the tuple without __new__:
        # route it through __new__ so that ``convention._replace(batch=0)`` is refused too
        return cls(*iterable)

    def _check(self) -> None:
        if self.batch < 1:
            raise ValueError(f"batch must be >= 1, got {self.batch}")
        if self.flops_per_madd not in (1, 2):
            raise ValueError(f"flops_per_madd must be 1 or 2, got {self.flops_per_madd}")
        unknown = set(self.flops_terms) - set(EXTRA_TERMS)
        if unknown:
            raise ValueError(f"unknown FLOPs term {sorted(unknown)[0]!r} (known: {', '.join(EXTRA_TERMS)})")
        if self.bn_params not in BN_PARAM_MODES:
            raise ValueError(f"bn_params must be one of {', '.join(BN_PARAM_MODES)}, got {self.bn_params!r}")

    def describe(self) -> str:
        terms = " + ".join(self.flops_terms) if self.flops_terms else "nothing else"
        return (
            f"MAdds = conv+linear multiply-adds (1 multiply-add = 1); "
            f"FLOPs = {self.flops_per_madd} x MAdds + {terms}; "
            f"params = weights + biases + {BN_PARAM_MODES[self.bn_params][0]}; batch {self.batch}"
        )

    def as_dict(self) -> dict:
        data = self._asdict()
        data["flops_terms"] = list(self.flops_terms)
        data["text"] = self.describe()
        return data
