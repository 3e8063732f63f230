"""The tensord package's import graph has no cycles (every import statement counts, at any
depth, except in __init__.py files, which are the package's face), and no module but
_tensor.py sets attributes on Tensor: STYLE.md §10."""
import ast
import os

PKG = os.path.join(os.path.dirname(__file__), "..", "..", "client_py", "tensord")

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
    bad = _cycles(_edges(_modules()))
    assert not bad, "import cycles among tensord modules: %s" % [sorted(c) for c in bad]


# what a module may call Tensor (or the C base) when it sets attributes on it
_TENSOR_NAMES = {"Tensor", "TensorBase", "TB", "_T"}


def _tensor_mutations(path):
    """(line, text) of each setattr(<Tensor>, ...) or <Tensor>.x = ... in the file, where
    <Tensor> is a name or attribute chain ending in one of _TENSOR_NAMES."""
    def is_tensor(node):
        return (isinstance(node, ast.Name) and node.id in _TENSOR_NAMES) or \
            (isinstance(node, ast.Attribute) and node.attr in _TENSOR_NAMES - {"_T"})
    found = []
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") \
                and node.args and is_tensor(node.args[0]):
            found.append((node.lineno, ast.unparse(node)))
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for t in targets:
            for x in ast.walk(t):
                if isinstance(x, ast.Attribute) and isinstance(x.ctx, ast.Store) and is_tensor(x.value):
                    found.append((node.lineno, ast.unparse(t)))
    return found


def test_tensor_methods_declared_only_in_tensor_py():
    bad = []
    for m, path in sorted(_modules().items()):
        if m != "_tensor":
            bad += ["%s:%d: %s" % (m, line, text) for line, text in _tensor_mutations(path)]
    assert not bad, "Tensor is only given attributes in _tensor.py's class body: %s" % bad


def test_tensor_mutation_check_sees_patching():
    src = "import x\nsetattr(Tensor, 'a', f)\nTensor.b = g\n_C.TensorBase.c = h\nT.d = 1\n"
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(src)
    try:
        assert sorted(line for line, _ in _tensor_mutations(f.name)) == [2, 3, 4]
    finally:
        os.unlink(f.name)
