"""Keras 3 oracle for test/integration/keras/plot_model.test.ts (argv[1]: cases JSON, argv[2]: answer JSON).

Runs Keras's own keras.utils.model_to_dot on the test's models with a stand-in for pydot that records the
nodes (their HTML labels) and edges instead of calling Graphviz; node ids (Python object ids) are mapped
back to layer names.
"""

import json
import sys
import types


class _Graph:
    def __init__(self, *args, **kwargs):
        self.nodes, self.edges, self.subgraphs, self.attrs = [], [], [], dict(kwargs)

    def set(self, key, value):
        self.attrs[key] = value

    def set_node_defaults(self, **kwargs):
        self.node_defaults = kwargs

    def add_node(self, node):
        self.nodes.append(node)

    def add_edge(self, edge):
        self.edges.append(edge)

    def get_edge(self, src, dst):
        return [e for e in self.edges if (e.src, e.dst) == (src, dst)]

    def add_subgraph(self, graph):
        self.subgraphs.append(graph)

    @staticmethod
    def create(*args, **kwargs):
        return b""


class _Node:
    def __init__(self, name, label=None):
        self.name, self.label, self.attrs = name, label, {}

    def set(self, key, value):
        self.attrs[key] = value


class _Edge:
    def __init__(self, src, dst):
        self.src, self.dst, self.attrs = src, dst, {}

    def set(self, key, value):
        self.attrs[key] = value


sys.modules["pydot"] = types.SimpleNamespace(Dot=_Graph, Cluster=_Graph, Node=_Node, Edge=_Edge, PydotException=Exception)

import keras  # noqa: E402  (after the pydot stand-in, which Keras looks up when imported)
from keras.src.utils import model_visualization  # noqa: E402

assert model_visualization.pydot is sys.modules["pydot"]
inp = json.load(open(sys.argv[1]))
Dense = keras.layers.Dense


def build(kind):
    if kind == "sequential":
        return keras.Sequential(
            [
                keras.Input((3,)),
                Dense(4, activation="relu", name="first"),
                Dense(2, name="second"),
                Dense(1, activation="sigmoid", name="third"),
            ],
            name="seq",
        )
    a = keras.Input((3,), name="in_a")
    b = keras.Input((3,), name="in_b")
    shared = Dense(2, name="shared")
    hidden = Dense(2, activation="relu", name="hidden")(a)
    merged = keras.layers.Concatenate(name="merged")([hidden, shared(a), shared(b)])
    return keras.Model([a, b], [Dense(1, name="out_1")(merged), Dense(2, name="out_2")(merged)], name="func")


answers = []
for case in inp:
    keras.utils.clear_session()
    model = build(case["kind"])
    for name in case.get("frozen", []):
        model.get_layer(name).trainable = False
    dot = model_visualization.model_to_dot(model, **case["options"])
    names = {str(id(op)): op.name for op in getattr(model, "_operations", model.layers)}
    answers.append(
        {
            "nodes": [{"name": names[n.name], "label": n.label} for n in dot.nodes],
            "edges": [[names[e.src], names[e.dst]] for e in dot.edges],
            "graph": {k: str(v) for k, v in dot.attrs.items()},
        }
    )
json.dump(answers, open(sys.argv[2], "w"))
