"""What every target's spec does the same way: its fields, their bounds, its round trip
through a Deployment row, and the GPUs it holds.

Each target's spec is a frozen, keyword-only dataclass whose fields are declared with
`spec_field` (deployments/targets/fields.py); forms, serializers and the OpenAPI schema
are derived from those declarations.
"""

import re
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Self

from deployments.targets.fields import FieldErrors, Kind, bound_errors, declarations, declared
from deployments.targets.plan import LEGACY_NAMES

SLUG_RE = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")


def slug_errors(slug: str) -> list[str]:
    if not SLUG_RE.match(slug):
        return [
            "Use 1–40 lowercase letters, digits and hyphens, starting with a letter and not "
            "ending with a hyphen: it names the deployment's resources in Google Cloud."
        ]
    return []


@dataclass(frozen=True, kw_only=True)
class _NamesMark:
    """The one field every target's spec has: declared once, here, for all of them."""

    # True on a row made before its objects carried a tag in their names and the
    # deployment's id among their owner labels (migration 0010 marks GKE rows, 0011 Cloud
    # Run's): its plans keep the names it was made with and take or delete by name what
    # carries no id (gke/names.py). Read from the row (deployments/plans.py ref_for into
    # DeploymentRef.legacy_names); a field so that a spec saved again (or copied, an
    # adapter's base_values) keeps the mark. Never set by a client.
    legacy_names: bool = False


class SpecBase(_NamesMark):
    """Mixed into each target's frozen dataclass."""

    # Fields kept in Deployment columns rather than in Deployment.spec.
    COLUMN_FIELDS: ClassVar[tuple[str, ...]] = ("model", "region", "gpu_type", "gpu_count")
    # Fields the rules cannot do without: an error on one of them stops the rules (so
    # does a malformed number anywhere).
    RULES_NEED: ClassVar[tuple[str, ...]] = ("model", "gpu_type")
    # The field a request is refused on when the project or the team cannot hold its GPUs.
    QUOTA_FIELD: ClassVar[str] = "max_instances"
    # A spec field the request form fills from the request's Name instead of asking for a
    # second name (an adapter's served name); "" for none. Clients of the API still set it.
    NAME_FROM_SLUG: ClassVar[str] = ""

    model: str
    region: str
    gpu_type: str
    gpu_count: int

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]

    @classmethod
    def normalise(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Values in their stored form (a decimal as its string, an empty optional as None)."""
        normalised = dict(values)
        for name, value in values.items():
            if (declaration := declared(cls, name)) is not None:
                normalised[name] = declaration.normalise(value)
        return normalised

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Self:
        picked = {k: values[k] for k in cls.field_names() if k in values}
        return cls(**cls.normalise(picked))

    @classmethod
    def from_deployment(cls, deployment: Any) -> Self:
        columns = {name: getattr(deployment, name) for name in cls.COLUMN_FIELDS}
        return cls.from_values({**deployment.spec, **columns})

    def spec_json(self) -> dict[str, Any]:
        """The part stored in Deployment.spec. The legacy-names mark is stored only where a
        migration set it (deployments/targets/plan.py LEGACY_NAMES): new rows, and what the
        API shows of them, carry no such key."""
        stored = {k: v for k, v in asdict(self).items() if k not in self.COLUMN_FIELDS}  # type: ignore[call-overload]
        if not stored.get(LEGACY_NAMES, True):
            del stored[LEGACY_NAMES]
        return stored

    def errors(self) -> FieldErrors:
        """Every reason this spec cannot run, by field; empty when it can.

        Bounds come first and their message wins on a field: the target's rules (and the
        price arithmetic after them) only ever see well-formed values of sane size.
        """
        errors, malformed = bound_errors(self)
        choices = {name for name, d, _ in declarations(type(self)) if d.kind is Kind.CHOICE}
        if malformed - choices or set(errors) & set(self.RULES_NEED):
            return errors
        for field, messages in self.rule_errors().items():
            errors.setdefault(field, messages)
        return errors

    def rule_errors(self) -> FieldErrors:
        """The target's rules across fields; only called on values within their bounds."""
        return {}

    def fixes(self) -> dict[str, Any]:
        """Values that would clear a rule error the rule can compute (field → value), for
        the form to offer as one click; only called on values within their bounds."""
        return {}

    @property
    def gpus_held(self) -> int:
        """GPUs the deployment holds at its largest: what quotas count."""
        raise NotImplementedError
