"""The tensord package's import graph has no cycles (every import statement counts, at any
depth, except in __init__.py files, which are the package's face): STYLE.md §10."""
import ast
import os

PKG = os.path.join(os.path.dirname(__file__), "..", "..", "client_py", "tensord")

# Modules still in one import cycle (around _records.py); this set may only shrink.
KNOWN_CYCLE = {"_advindex", "_complex", "_creation", "_indexing", "_interop", "_linalg", "_linalg_lu",
               "_math", "_records", "_tensor", "linalg"}


def _modules():
    root = os.path.abspath(PKG)
    mods = {}
    for dp, _, fs in os.walk(root):
        for f in fs:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dp, f), root)
                mods[rel[:-3].replace(os.sep, ".")] = os.path.join(dp, f)
    return mods


def _edges(mods):
    edges = {m: set() for m in mods}
    for m, path in mods.items():
        if m.split(".")[-1] == "__init__":
            continue
        base = m.split(".")[:-1]
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Import):
                targets = [a.name[len("tensord."):] for a in node.names if a.name.startswith("tensord.")]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    pre = base[:len(base) - (node.level - 1)]
                    t = ".".join(pre + ([node.module] if node.module else []))
                elif (node.module or "").startswith("tensord."):
                    t = node.module[len("tensord."):]
                else:
                    continue
                targets = [t] + [(t + "." if t else "") + a.name for a in node.names]
            else:
                continue
            for t in targets:
                for cand in (t, t + ".__init__"):
                    if cand in mods and cand != m and cand.split(".")[-1] != "__init__":
                        edges[m].add(cand)
    return edges


def _cycles(edges):
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(set(comp))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_graph_sees_imports():
    edges = _edges(_modules())
    assert "_records" in edges["_tensor"] and "_distance" in edges["nn.functional"]


def test_no_import_cycles():
    bad = [c for c in _cycles(_edges(_modules())) if not c <= KNOWN_CYCLE]
    assert not bad, "import cycles among tensord modules: %s" % [sorted(c) for c in bad]
