"""Nothing under deployments/targets/ reads the database: no ORM model, selector, service
or access check, no `django.db` (nor a QuerySet), no manager (`.objects`), no settings.
What a request may use is handed in (targets/offer.py, built by services/offers.py) and
what a plan needs besides its spec comes in the PlanContext.

Read from the source with `ast`, as tests/test_layering.py does, so an import inside a
function counts as much as one at the top of a module (a function-level import once hid
an 18-module cycle through a target's binding).
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TARGETS = ROOT / "deployments" / "targets"

# An app's models, selectors or services (deployments.models, clusters.selectors,
# deployments.services.quotas, portal.services_hf_token...), the access checks, Django's
# database layer and its settings.
FORBIDDEN = re.compile(
    r"(?:^|\.)(?:models|selectors|services\w*)(?:\.|$)"
    r"|^portal\.access(?:\.|$)"
    r"|^django\.db(?:\.|$)"
    r"|^django\.conf(?:\.|$)"
)
FORBIDDEN_NAMES = {"QuerySet", "Manager", "Model", "connection", "transaction", "settings"}


def _module(path: Path, node: ast.ImportFrom) -> str:
    """The absolute name of what `from ... import` names (a relative one resolved)."""
    if node.level == 0:
        return node.module or ""
    package = path.relative_to(ROOT).with_suffix("").parts[: -node.level]
    return ".".join([*package, *([node.module] if node.module else [])])


def reads_of_the_database(source: str, path: Path) -> list[str]:
    """Each import or use in `source` (the module at `path`) that reads the database."""
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where} imports {a.name}" for a in node.names if FORBIDDEN.search(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = _module(path, node)
            names = [a.name for a in node.names]
            if FORBIDDEN.search(module) or any(FORBIDDEN.search(f"{module}.{n}") for n in names):
                found.append(f"{where} imports from {module}")
            found += [f"{where} imports {n}" for n in names if n in FORBIDDEN_NAMES]
        elif isinstance(node, ast.Attribute) and node.attr == "objects":
            found.append(f"{where} uses a model manager (.objects)")
    return found


@pytest.mark.parametrize(
    "path", sorted(TARGETS.rglob("*.py")), ids=lambda p: str(p.relative_to(TARGETS))
)
def test_no_target_reads_the_database(path):
    assert reads_of_the_database(path.read_text(), path) == []


PROBE = """
from deployments.targets.gke import binding
from . import fields


def bind(spec, team):
    from clusters.models import Cluster
    from clusters.selectors import clusters_open_to
    from deployments.services.quotas import quota_check
    from deployments import models
    from django.db.models import QuerySet
    import portal.access
    from .. import selectors
    return Cluster.objects.filter(teams=team)
"""


def test_the_check_catches_a_read_hidden_in_a_function():
    """Read as a module of targets/gke/ (never written there): each way in is caught, a
    target's own modules are not."""
    found = reads_of_the_database(PROBE, TARGETS / "gke" / "probe.py")
    assert sorted(line.split(" ", 1)[1] for line in found) == sorted(
        [
            "imports from clusters.models",
            "imports from clusters.selectors",
            "imports from deployments.services.quotas",
            "imports from deployments",  # deployments.models
            "imports from django.db.models",
            "imports QuerySet",
            "imports portal.access",
            "imports from deployments.targets",  # deployments.targets.selectors
            "uses a model manager (.objects)",
        ]
    )
