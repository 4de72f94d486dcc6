#!/usr/bin/env python3
"""The package's import graph has no cycle, counting imports inside functions.

Reads every module of the package with `ast` (never imports it) and collects each `from .x import ...`,
`from . import x`, `from usenhance_nb.x import ...`, `from usenhance_nb import x` and `import usenhance_nb.x`, at module
level and inside functions or classes. Prints the graph with --graph; exits 1 and prints each cycle if there is one.
`--selftest` builds a tiny package with a cycle (through an import inside a function) in a temporary folder and checks
that it is caught, and that the same package without the cycle passes.
"""
import ast, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def graph(pkg: Path) -> dict:
    "module -> {imported module: [line numbers]} for the modules directly in `pkg` (sub-packages as one node)."
    name, g = pkg.name, {}
    mods = {p.stem for p in pkg.glob('*.py')} | {p.name for p in pkg.iterdir() if (p / '__init__.py').is_file()}
    for f in sorted(pkg.glob('*.py')):
        if f.stem == '_modidx': continue   # nbdev's index of names: strings only
        deps = g.setdefault(f.stem, {})
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                mod = node.module or ''
                if node.level == 1: parts = mod.split('.') if mod else []
                elif node.level == 0 and (mod == name or mod.startswith(name + '.')): parts = mod.split('.')[1:]
                else: continue
                targets = [parts[0]] if parts else [a.name for a in node.names]   # `from . import x`: x is a module
            elif isinstance(node, ast.Import):
                targets = [a.name.split('.')[1] for a in node.names if a.name.startswith(name + '.')]
            for t in targets:
                if t in mods and t != f.stem: deps.setdefault(t, []).append(node.lineno)
    return g


def cycles(g: dict) -> list:
    "The strongly connected components of more than one module (Tarjan), each as a list of modules."
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in g.get(v, {}):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index: visit(v)
    return out


def path_in(g: dict, comp: list) -> list:
    "One cycle through the component's first module, as [a, b, ..., a]."
    start, seen = comp[0], {comp[0]: None}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in g.get(v, {}):
            if w == start:
                p = [v]
                while seen[p[-1]] is not None: p.append(seen[p[-1]])
                return [start] + p[::-1][1:] + [start] if len(p) > 1 else [start, v, start]
            if w in comp and w not in seen: seen[w] = v; todo.append(w)
    return comp


def check(pkg: Path, quiet=False) -> int:
    g = graph(pkg)
    found = cycles(g)
    for comp in (found if not quiet else []):
        p = path_in(g, comp)
        steps = ', '.join(f"{a} -> {b} (line {g[a][b][0]} of {a}.py)" for a, b in zip(p, p[1:]))
        print(f"ERROR: import cycle among {comp}: {steps}")
    if not found and not quiet: print(f"no import cycle among the {len(g)} modules of {pkg.name}/ (imports inside functions counted)")
    return 1 if found else 0


def selftest() -> int:
    with tempfile.TemporaryDirectory() as d:
        pkg = Path(d) / 'usenhance_nb'; pkg.mkdir()
        (pkg / '__init__.py').write_text('')
        (pkg / 'a.py').write_text('from .b import f\n')
        (pkg / 'b.py').write_text('import os\ndef f():\n    from usenhance_nb.c import g\n    return g()\n')
        (pkg / 'c.py').write_text('def g():\n    import usenhance_nb.a\n')
        caught = check(pkg, quiet=True) == 1 and cycles(graph(pkg)) == [['a', 'b', 'c']]
        (pkg / 'c.py').write_text('def g():\n    import os\n')
        clean = check(pkg, quiet=True) == 0
    print(f"selftest: a cycle through an import inside a function {'caught' if caught else 'MISSED'}; "
          f"the same package without it {'passes' if clean else 'FAILS'}")
    return 0 if caught and clean else 1


if __name__ == '__main__':
    if '--selftest' in sys.argv: sys.exit(selftest())
    pkg = ROOT / 'usenhance_nb'
    if '--graph' in sys.argv:
        for m, deps in graph(pkg).items(): print(f"{m} -> {', '.join(sorted(deps))}")
    sys.exit(check(pkg))
