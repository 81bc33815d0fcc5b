"""The sandbox's packages import one another one way only, and only each other's public names.

The graph is built from the source with `ast`: every import counts, at module level, inside
a function or under `if TYPE_CHECKING:`, because an import hidden in a function still ties
two packages together. The modules directly in sandbox/ (`__main__`, `testing`) are one node,
"sandbox", above everything else.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox"
ROOT = "sandbox"


@dataclass(frozen=True)
class Import:
    source: str  # the importing package
    target: str  # the imported package
    names: tuple[str, ...]  # the names taken from it (empty for `import sandbox.x.y`)
    where: str  # path:line

    def __str__(self) -> str:
        names = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.where}: {self.source} -> {self.target}{names}"


def packages() -> list[str]:
    return sorted(p.name for p in SANDBOX.iterdir() if (p / "__init__.py").is_file())


def package_of(path: Path, root: Path = SANDBOX) -> str:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else ROOT


def _module_of(path: Path, root: Path) -> list[str]:
    parts = ["sandbox", *path.relative_to(root).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _target(dotted: list[str], subpackages: set[str]) -> str | None:
    if dotted[:1] != ["sandbox"]:
        return None
    if len(dotted) > 1 and dotted[1] in subpackages:
        return dotted[1]
    return ROOT


def imports(path: Path, subpackages: set[str], root: Path = SANDBOX) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), str(path))
    source = package_of(path, root)
    here = _module_of(path, root)
    where = path.relative_to(root.parent)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _target(alias.name.split("."), subpackages)
                if target is not None:
                    yield Import(source, target, (), f"{where}:{node.lineno}")
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                base = here if path.name == "__init__.py" else here[:-1]
                base = base[: len(base) - node.level + 1]
                dotted = [*base, *(node.module or "").split(".")] if node.module else base
            else:
                dotted = (node.module or "").split(".")
            names = tuple(alias.name for alias in node.names)
            if dotted == ["sandbox"]:  # from sandbox import core, kube: each is an edge
                for name in names:
                    target = name if name in subpackages else ROOT
                    yield Import(source, target, (name,), f"{where}:{node.lineno}")
                continue
            target = _target(dotted, subpackages)
            if target is not None:
                yield Import(source, target, names, f"{where}:{node.lineno}")


def all_imports() -> list[Import]:
    subpackages = set(packages())
    return [
        found
        for path in sorted(SANDBOX.rglob("*.py"))
        for found in imports(path, subpackages)
        if found.source != found.target
    ]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_sandbox_is_in_packages() -> None:
    loose = sorted(
        p.name for p in SANDBOX.glob("*.py") if p.name not in ("__init__.py", "__main__.py")
    )
    assert loose == ["testing.py"], "a module belongs in the package of what it stands in for"
    assert len(packages()) >= 10


def test_no_import_cycle_between_packages() -> None:
    found = all_imports()
    edges: dict[str, set[str]] = {}
    for edge in found:
        edges.setdefault(edge.source, set()).add(edge.target)
    problems = []
    for component in cycles(edges):
        lines = [str(e) for e in found if e.source in component and e.target in component]
        problems.append(f"cycle among {component}:\n  " + "\n  ".join(lines))
    assert not problems, "\n".join(problems)


def test_no_package_imports_the_top_level_modules() -> None:
    upward = [str(e) for e in all_imports() if e.target == ROOT]
    assert not upward, "\n".join(upward)


def test_no_private_name_crosses_packages() -> None:
    """`from sandbox.a.x import _name`, or `x._name` on a module imported from another
    package: a name another package needs is public in the package that owns it."""
    subpackages = set(packages())
    problems = [
        str(e) for e in all_imports() if any(n.startswith("_") for n in e.names if n != "*")
    ]
    for path in sorted(SANDBOX.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        source = package_of(path)
        foreign: set[str] = set()  # local names bound to another package's module
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                dotted = node.module.split(".")
                target = _target(dotted, subpackages)
                if target is None or target == source:
                    continue
                for alias in node.names:
                    inner = target if dotted == ["sandbox"] else None
                    if inner or (SANDBOX.joinpath(*dotted[1:], f"{alias.name}.py")).is_file():
                        foreign.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in foreign
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                where = path.relative_to(SANDBOX.parent)
                problems.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not problems, "\n".join(problems)


def test_each_package_says_what_it_models() -> None:
    missing = [name for name in packages() if not (SANDBOX / name / "README.md").is_file()]
    assert not missing, f"packages without a README.md: {missing}"


def test_the_graph_sees_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    """The checks above would pass vacuously if the walk missed imports in functions."""
    source = tmp_path / "sandbox" / "kube" / "x.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from sandbox.core.state import State\n"
        "def f():\n"
        "    from sandbox.gke import clusters\n"
        "    from sandbox.iam.act_as import _private\n"
    )
    found = list(imports(source, {"core", "gke", "iam", "kube"}, tmp_path / "sandbox"))
    assert [(e.target, e.names) for e in found] == [
        ("core", ("State",)),
        ("gke", ("clusters",)),
        ("iam", ("_private",)),
    ]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
