"""The layers import downward (STYLE.md, habit 11), read from the source with ``ast``.

Nothing is imported: every ``.py`` file of the source packages is parsed, and each of its
import statements is resolved to the top-level package it names (relative imports
included). ``api/``, ``admin/``, ``jobs/``, ``cli/`` and ``dashboards/`` call ``services/``;
``services/`` calls ``models/``, ``integrations/`` and ``core/``, and nothing below reaches
back up. An import inside a function (the usual way to dodge a cycle) is refused anywhere
in the source: it is the sign that the layering is wrong. Imports guarded by a module-level
``if TYPE_CHECKING:`` are annotations only and may stay at module level; they still count
for the layering, since the type checker sees the dependency all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES = (
    "core",
    "models",
    "resources",
    "services",
    "integrations",
    "api",
    "admin",
    "jobs",
    "cli",
    "dashboards",
)
ENTRY_POINTS = frozenset({"jobs", "api", "admin", "cli", "dashboards"})

# package: the packages it must never import.
FORBIDDEN: dict[str, frozenset[str]] = {
    "services": ENTRY_POINTS,
    "models": ENTRY_POINTS,
    "integrations": ENTRY_POINTS,
    "core": ENTRY_POINTS | {"models", "services", "resources"},
    "resources": frozenset({"api", "admin", "jobs"}),
    "jobs": frozenset({"api", "admin", "cli", "dashboards"}),
}


@dataclass(frozen=True)
class Import:
    path: str  # relative to the project root
    line: int
    module: str  # the dotted module the statement imports from, resolved
    statement: str  # the source text, for the failure message
    in_function: bool

    @property
    def package(self) -> str:
        return self.module.split(".", 1)[0]

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.statement}"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module of ``from ... import``, relative levels resolved."""
    if node.level == 0:
        return node.module or ""
    # A package's own ``__init__`` is level 1 of itself; a module's is its package.
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, node.module] if node.module else base)


def imports_of(source: str, path: str, module: str, *, is_package: bool = False) -> list[Import]:
    """Every import statement of a module's source, with whether it runs inside a function
    (a ``def``, ``async def`` or ``lambda``, at any depth; methods included)."""
    tree = ast.parse(source, filename=path)
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.Import | ast.ImportFrom):
                targets = (
                    [alias.name for alias in child.names]
                    if isinstance(child, ast.Import)
                    else [_resolve(child, module, is_package)]
                )
                text = ast.get_source_segment(source, child) or ast.unparse(child)
                for target in targets:
                    found.append(Import(path, child.lineno, target, text, in_function))
            visit(child, inside)

    visit(tree, False)
    return found


def source_files() -> Iterator[tuple[str, Path]]:
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


def all_imports() -> list[tuple[str, Import]]:
    found = []
    for package, path in source_files():
        rel = str(path.relative_to(ROOT))
        module = _module_name(path, ROOT)
        source = path.read_text(encoding="utf-8")
        for item in imports_of(source, rel, module, is_package=path.name == "__init__.py"):
            found.append((package, item))
    return found


def report(title: str, offenders: list[str]) -> str:
    return f"{title} ({len(offenders)}):\n  " + "\n  ".join(offenders)


# -- the rules --------------------------------------------------------------------------------


class TestTheSourceIsThere:
    @pytest.mark.parametrize("package", SOURCE_PACKAGES)
    def test_every_source_package_has_python_files(self, package: str) -> None:
        # Otherwise a renamed package would make every rule below pass on nothing.
        assert list((ROOT / package).rglob("*.py")), f"no .py files under {package}/"


class TestLayersImportDownward:
    @pytest.mark.parametrize("package", sorted(FORBIDDEN))
    def test_a_layer_never_imports_the_layers_above_it(self, package: str) -> None:
        forbidden = FORBIDDEN[package]
        offenders = [
            f"{item}  (imports {item.package}/)"
            for owner, item in all_imports()
            if owner == package and item.package in forbidden
        ]
        assert not offenders, report(
            f"{package}/ must not import {', '.join(sorted(forbidden))}", offenders
        )


class TestNoImportInsideAFunction:
    def test_every_import_is_at_module_level(self) -> None:
        offenders = [str(item) for _, item in all_imports() if item.in_function]
        assert not offenders, report(
            "imports inside a function or method (a cycle being dodged: fix the layering)",
            offenders,
        )


# -- the scanner itself: the rules above can only fail if it sees what they look for ----------


class TestTheScanner:
    def test_sees_an_import_inside_a_method_and_a_nested_function(self) -> None:
        source = (
            "import os\n"
            "class Thing:\n"
            "    def method(self):\n"
            "        from api.app import create_app\n"
            "async def outer():\n"
            "    def inner():\n"
            "        import admin\n"
        )
        found = imports_of(source, "services/thing.py", "services.thing")
        assert [(i.line, i.package, i.in_function) for i in found] == [
            (1, "os", False),
            (4, "api", True),
            (7, "admin", True),
        ]
        assert str(found[1]) == "services/thing.py:4: from api.app import create_app"

    def test_allows_type_checking_imports_at_module_level_only(self) -> None:
        source = (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from admin.views import ResourceView\n"
            "def f():\n"
            "    if TYPE_CHECKING:\n"
            "        from admin.views import ResourceView\n"
        )
        found = imports_of(source, "admin/forms.py", "admin.forms")
        assert [(i.line, i.in_function) for i in found] == [(1, False), (3, False), (6, True)]

    def test_resolves_relative_imports_to_their_package(self) -> None:
        source = "from . import views\nfrom ..jobs import tasks\nfrom .courses import X\n"
        module = imports_of(source, "admin/overrides/x.py", "admin.overrides.x")
        assert [i.module for i in module] == [
            "admin.overrides",
            "admin.jobs",
            "admin.overrides.courses",
        ]
        package = imports_of(
            "from . import a\nfrom .. import jobs\n",
            "services/sub/__init__.py",
            "services.sub",
            is_package=True,
        )
        assert [i.module for i in package] == ["services.sub", "services"]
