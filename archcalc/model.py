"""A compiled network: the IR graph plus what was asked for, with cost accessors."""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from archcalc.analysis.convention import Convention
from archcalc.analysis.costs import layer_rows, model_totals, rollup, tally_totals

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    import pandas as pd

    from archcalc.spec.loader import Spec


class BlockInstance(NamedTuple):
    """One expanded block: what the paper's tables talk about (``stage3.block1``). The
    compiler makes these; it lives here, beside the Model that lists them, so that the
    compiler depends on the model and never the other way round. (A named tuple: a
    10,000-block chain makes 40,000 of them, and a frozen dataclass takes 4x as long to
    build.)"""

    name: str
    type: str
    params: dict
    input: str
    output: str
    input_shape: tuple
    output_shape: tuple
    nesting: int  # 0 for a block written as a layer row, 1 for a block inside it, ...


_BUILT = frozenset({"nodes", "order", "scopes", "blocks"})  # what a Model may make on first read


class Model:
    """The IR of one network at one (width, resolution, classes).

    ``graph`` is a networkx DiGraph with one node per primitive op, named hierarchically
    (``stage3.block1.expand.conv``), each edge carrying the consumer's input ``slot``.
    It is built on first use from ``nodes`` (the same attribute dicts, in program order),
    so that commands which only count never pay for importing networkx. Node attributes: ``op`` (kind), ``attrs``, ``inputs``
    (ordered producer names), ``in_shapes``, ``shape`` (output, without batch), ``origin``
    (spec location), ``cost`` and ``params`` (registry records). ``order`` is the program
    order (a topological order: the spec's), ``outputs`` the output nodes, ``blocks`` every
    block instance, ``scopes`` every name a spec's ``from`` may use. These four may be made
    on first read (``build``: the replays of repeated blocks the compiler put off), so that a
    count of the network makes no op it does not need. (A plain class: the start-up of
    ``archcalc cost`` does not import dataclasses, issue 12.)
    """

    def __init__(self, spec: Spec, nodes: dict[str, dict] | None, order: list[str] | None, outputs: list[str],
                 blocks: list[BlockInstance] | None, scopes: dict[str, str] | None = None, sums: tuple | None = None,
                 build: Callable[[], tuple] | None = None) -> None:
        self.spec = spec
        self.outputs = outputs
        # column sums of the nodes' numbers, taken by the compiler (see costs.tally_row); None: sum the nodes
        self.sums = sums
        if build is None:
            self.nodes, self.order, self.blocks = nodes, order, blocks
            self.scopes = {} if scopes is None else scopes
        else:  # `nodes`, `order`, `scopes` and `blocks` are made by build() when first read (see __getattr__)
            self._build = build

    def __getattr__(self, name: str) -> Any:
        # Called only for an attribute the instance lacks: the IR of a model whose compile put
        # off replaying its repeated blocks (compiler._Compiler.defer) is made on first read, so
        # that counting a network makes no op of a repeated block. Once made, the attributes
        # are plain ones and this is never called for them again.
        build = self.__dict__.get("_build")
        if build is None or name not in _BUILT:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self.nodes, self.order, self.scopes, self.blocks = build()
        self.__dict__.pop("_build", None)  # (two threads may both have made it: either result is the IR)
        return self.__dict__[name]

    def __getstate__(self) -> dict:
        if "_build" in self.__dict__:  # a pickle or a copy holds the IR itself, not how to make it
            self.__getattr__("nodes")
        return self.__dict__

    def __repr__(self) -> str:
        return f"Model({self.name!r}, width={self.width:g}, resolution={self.resolution}, nodes={len(self.order)})"

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def width(self) -> float:
        return self.spec.width

    @property
    def resolution(self) -> int:
        return self.spec.resolution

    @property
    def classes(self) -> int | None:
        return self.spec.classes

    @cached_property
    def graph(self) -> "nx.DiGraph":
        import networkx as nx

        graph = nx.DiGraph()
        for name in self.order:
            graph.add_node(name)
            graph.nodes[name].update(self.nodes[name])
            # parallel edges (x + x) collapse in a DiGraph; the node's `inputs` keeps the true list
            for slot, producer in enumerate(self.nodes[name]["inputs"]):
                graph.add_edge(producer, name, slot=slot)
        return graph

    def node(self, name: str) -> dict:
        return self.nodes[name]

    def layers(self, convention: Convention | None = None) -> list[dict]:
        """One dict per op node: name, op, output_shape, madds, params, ... (plain Python)."""
        return layer_rows(self.nodes, self.order, convention or Convention())

    def totals(self, convention: Convention | None = None) -> dict[str, int]:
        if self.sums is not None:
            return tally_totals(self.sums, convention or Convention())
        return model_totals(self.nodes, self.order, convention or Convention())

    def grouped(self, depth: int, convention: Convention | None = None) -> list[dict]:
        """Rows summed by the first ``depth`` name components (1 = stage, 2 = block, ...)."""
        return rollup(self.layers(convention), depth)

    def cost_table(self, convention: Convention | None = None, depth: int | None = None) -> "pd.DataFrame":
        """The cost table as a pandas DataFrame (one row per op, or per scope at ``depth``).

        The convention is attached as ``df.attrs["convention"]``.
        """
        import pandas as pd

        convention = convention or Convention()
        rows = self.grouped(depth, convention) if depth else self.layers(convention)
        frame = pd.DataFrame(rows).set_index("name")
        frame.attrs["convention"] = convention.describe()
        return frame
