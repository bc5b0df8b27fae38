"""Import structure of netplan, checked by parsing the source (ast), not by importing it.

* no import cycle among netplan's modules, counting imports inside functions;
* typer and rich are imported only in ``netplan/cli/``, and nothing outside it imports ``netplan.cli``;
* no function longer than 100 lines (the allow-list names files other work still owns);
* no private name (``_x``) imported from another module, except within one package from its
  private modules (``netplan.siting._mip`` used by ``netplan.siting.three_tier``);
* no stream id of data/streams.toml in a condition (``if``, comparison, comprehension filter):
  streams are data.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "netplan"
MAX_LINES = 100
# files whose long functions are being split by other work (remove when done)
LONG_ALLOWED: set[str] = set()
LONG_ALLOWED_DIRS: tuple[str, ...] = ()


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(ROOT.rglob("*.py")):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _is_package(mod: str, mods: dict[str, Path]) -> bool:
    return mods[mod].name == "__init__.py"


def _resolve(mod: str, node: ast.ImportFrom, mods: dict[str, Path]) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".")
    if not _is_package(mod, mods):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(mod: str, tree: ast.AST, mods: dict[str, Path]) -> list[tuple[str, str | None, int]]:
    """(module imported, name imported from it or None, line) for every import, at any depth."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(mod, node, mods)
            out += [(target, a.name, node.lineno) for a in node.names]
    return out


def _target(name: str, attr: str | None, mods: dict[str, Path]) -> str | None:
    """The netplan module an import depends on (``from pkg import submodule`` → the submodule)."""
    if attr is not None and f"{name}.{attr}" in mods:
        return f"{name}.{attr}"
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    g: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for name, attr, _ in _imports(m, ast.parse(p.read_text(encoding="utf-8")), mods):
            if not name.startswith("netplan"):
                continue
            t = _target(name, attr, mods)
            if t is not None and t != m and not m.startswith(t + "."):
                # a module importing its own package's __init__ is the package loading itself
                g[m].add(t)
    return g


def _cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
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
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    """No two netplan modules import each other, directly or around a loop, at any depth."""
    cycles = _cycles(_graph())
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(c) for c in cycles)


def test_cli_only_imports_typer_and_rich() -> None:
    """typer and rich are the command layer's; no module outside netplan/cli imports netplan.cli."""
    mods = _modules()
    bad = []
    for m, p in mods.items():
        if m == "netplan.cli" or m.startswith("netplan.cli."):
            continue
        for name, _, line in _imports(m, ast.parse(p.read_text(encoding="utf-8")), mods):
            top = name.split(".")[0]
            if top in ("typer", "rich") or name == "netplan.cli" or name.startswith("netplan.cli."):
                bad.append(f"{p.relative_to(ROOT.parent)}:{line} imports {name}")
    assert not bad, "\n".join(bad)


def test_no_long_functions() -> None:
    """Functions are at most 100 lines (decorators and docstrings included)."""
    bad = []
    for p in sorted(ROOT.rglob("*.py")):
        rel = p.relative_to(ROOT.parent).as_posix()
        if rel in LONG_ALLOWED or rel.startswith(LONG_ALLOWED_DIRS):
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_LINES:
                    bad.append(f"{rel}:{node.lineno} {node.name} is {n} lines")
    assert not bad, "\n".join(bad)


def test_no_private_imports_across_modules() -> None:
    """A private name (``_x``) is imported only from a private module of the importer's own package."""
    mods = _modules()
    bad = []
    for m, p in mods.items():
        pkg = m if _is_package(m, mods) else m.rpartition(".")[0]
        for name, attr, line in _imports(m, ast.parse(p.read_text(encoding="utf-8")), mods):
            if not name.startswith("netplan") or attr is None:
                continue
            if not attr.startswith("_") or attr.startswith("__"):
                continue
            src_pkg = name.rpartition(".")[0] if name in mods and not _is_package(name, mods) else name
            private_module = name.rpartition(".")[2].startswith("_")
            if f"{name}.{attr}" in mods:  # importing a private module of a package
                if name == pkg or pkg.startswith(name + "."):
                    continue
            elif private_module and (src_pkg == pkg or pkg.startswith(src_pkg + ".")):
                continue
            bad.append(f"{p.relative_to(ROOT.parent)}:{line} imports {attr} from {name}")
    assert not bad, "\n".join(bad)


def test_no_stream_name_in_a_condition() -> None:
    """No module decides by a stream's name (``if stream == "manure"``, ``"straw" in streams``)."""
    with open(ROOT.parent / "data" / "streams.toml", "rb") as fh:
        names = set(tomllib.load(fh)["streams"])
    bad = []
    for p in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.If | ast.IfExp | ast.While):
                conds = [node.test]
            elif isinstance(node, ast.comprehension):
                conds = list(node.ifs)
            elif isinstance(node, ast.Compare):
                conds = [node]
            else:
                continue
            for cond in conds:
                bad += [f"{p.relative_to(ROOT.parent)}:{c.lineno} tests stream {c.value!r}"
                        for c in ast.walk(cond) if isinstance(c, ast.Constant) and c.value in names]
    assert not bad, "\n".join(sorted(set(bad)))


def test_checker_finds_a_cycle() -> None:
    """The cycle finder reports a loop of three and ignores a chain."""
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(g) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
