"""The product packages import one way only: config → apps → runbook → gcp, telemetry.

Built from the source with `ast`, so an import inside a function counts as much as one at
the top of a module (a function-level import once hid an 18-module cycle). A package may
import itself and the packages in the tiers below its own, nothing else; the sandbox
stands apart (it imports none of them, and none imports it).
"""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Top to bottom. README.md ("How the code is layered") shows the same.
TIERS: list[tuple[str, ...]] = [
    ("config",),
    ("workers",),  # Celery tasks: call any app's services
    ("metering",),  # measured spend, model-server metrics: reads deployments and usage
    ("playground",),  # chat and the streaming proxy: reads deployments
    ("deployments",),  # the domain: requests, targets, approvals, quotas, spend
    ("clusters",),  # the GKE clusters deployments run on
    ("portal",),  # teams, memberships, tokens, audit
    ("runbook",),  # the plan engine, for any owner
    ("gcp", "telemetry"),  # Google's APIs; Hangar's own metrics and logs
]
TIER = {package: n for n, packages in enumerate(TIERS) for package in packages}
STANDALONE = "sandbox"


def imported_packages(package: str) -> dict[str, set[str]]:
    """Each package `package` imports (any module, any depth) → the files that do."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != package and (top in TIER or top == STANDALONE):
                    found[top].add(str(path.relative_to(ROOT)))
    return found


GRAPH = {package: imported_packages(package) for package in [*TIER, STANDALONE]}


def test_every_product_package_is_placed_in_a_tier():
    on_disk = {
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").exists() and p.name not in {"tests", "benchmarks", STANDALONE}
    }
    assert on_disk == set(TIER), "place a new package in TIERS (and the README's picture)"


def test_no_two_packages_import_each_other():
    both_ways = sorted((a, b) for a in GRAPH for b in GRAPH[a] if a < b and a in GRAPH.get(b, {}))
    assert both_ways == []


@pytest.mark.parametrize("package", list(TIER))
def test_a_package_imports_only_the_tiers_below_it(package):
    upward = {
        other: sorted(files)
        for other, files in GRAPH[package].items()
        if other == STANDALONE or TIER[other] <= TIER[package]
    }
    assert upward == {}, f"{package} (tier {TIER[package]}) imports what is not below it"


def test_the_sandbox_imports_no_product_package():
    assert dict(GRAPH[STANDALONE]) == {}
