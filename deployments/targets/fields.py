"""A spec field, declared once: type, default, bounds, label, help and the CLI flag it maps to.

Targets declare their spec dataclass fields with `int_field`, `decimal_field` and
`choice_field`. The request form, the API serializer (and so the OpenAPI schema) and the
bounds check in `SpecBase.errors()` are all derived from these declarations, so a limit
is written in one place and refused the same way by the form, the API and the estimate.
"""

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from rest_framework import serializers

from deployments.targets.offer import Offer

FieldErrors = dict[str, list[str]]
Choices = Callable[[], Sequence[tuple[str, str]]]


class Kind(enum.Enum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    CHOICE = "choice"
    # A short string matching `pattern`; minimum and maximum bound its length.
    TEXT = "text"


class Widget(enum.Enum):
    DEFAULT = "default"
    RADIO = "radio"


@dataclass(frozen=True)
class SpecField:
    kind: Kind
    label: str
    help: str
    cli: str = ""  # the gcloud/kubectl flag or variable the value becomes, for the help text
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    # Why the maximum is what it is (a Google limit, usually), named when it is exceeded.
    maximum_reason: str = ""
    choices: Choices | None = None
    choice_error: str = "Choose one of the offered values."
    # CHOICE: other names a client may send for a choice (an Ollama tag for its catalog
    # key), each → the choice it names; stored, priced and shown as the choice.
    aliases: Callable[[], Mapping[str, str]] | None = None
    pattern: str = ""  # TEXT: what the whole value must match
    pattern_error: str = ""
    decimal_places: int = 2
    optional: bool = False  # None (empty) is allowed and means "the default of the engine"
    widget: Widget = Widget.DEFAULT
    # An id only the requesting user's teams can offer (a GKE cluster): the form lists
    # these (value, label) pairs from what the user's teams may use (offer.py); the spec
    # checks the bounds, and the target's binding checks the value against the team the
    # request is for.
    form_choices: Callable[[Offer], Sequence[tuple[int, str]]] | None = None
    # Optional to price, required to request (a GKE cluster: any cluster's node costs the
    # same, but a deployment must run on one): the request service asks for it.
    request_required: bool = False

    @property
    def help_text(self) -> str:
        return f"{self.cli}: {self.help}" if self.cli else self.help

    def too_small(self) -> str:
        return f"Use at least {self.minimum}."

    def too_large(self) -> str:
        reason = f" ({self.maximum_reason})" if self.maximum_reason else ""
        return f"Use at most {self.maximum}{reason}."

    def choice_values(self) -> list[str]:
        return [value for value, _ in (self.choices() if self.choices else [])]

    def normalise(self, value: Any) -> Any:
        """The stored form: a decimal as its string (what was asked, exactly), "" as None."""
        if self.optional and value in ("", None, 0):  # 0 too: "no limit" to a form or client
            return None
        if self.aliases is not None and isinstance(value, str):
            return self.aliases().get(value, value)
        if self.kind is Kind.DECIMAL and isinstance(value, Decimal | int | float):
            try:
                return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-self.decimal_places)))
            except InvalidOperation:
                return str(value)
        return value

    def errors(self, value: Any) -> list[str]:
        """Why `value` is outside this field; empty when it is inside."""
        if value is None:
            return [] if self.optional else ["This field is required."]
        if self.kind is Kind.CHOICE:
            return [] if value in self.choice_values() else [self.choice_error]
        if self.kind is Kind.TEXT:
            return self._text_errors(value)
        number = _number(value, self.kind)
        if number is None:
            kind = "a whole number" if self.kind is Kind.INTEGER else "a number such as 0.90"
            return [f"Give {kind}."]
        if self.minimum is not None and number < self.minimum:
            return [self.too_small()]
        if self.maximum is not None and number > self.maximum:
            return [self.too_large()]
        return []

    def _text_errors(self, value: Any) -> list[str]:
        if not isinstance(value, str):
            return ["Give text."]
        if not int(self.minimum or 0) <= len(value) <= int(self.maximum or 0):
            return [f"Use {self.minimum} to {self.maximum} characters."]
        if self.pattern and re.fullmatch(self.pattern, value) is None:
            return [self.pattern_error or "Not in the expected form."]
        return []


def _number(value: Any, kind: Kind) -> int | Decimal | None:
    if kind is Kind.INTEGER:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _declare(default: Any, spec: SpecField) -> Any:
    return field(default=default, metadata={"spec": spec})


def int_field(default: Any = MISSING, **spec: Any) -> Any:
    return _declare(default, SpecField(Kind.INTEGER, **spec))


def decimal_field(default: Any = MISSING, **spec: Any) -> Any:
    return _declare(default, SpecField(Kind.DECIMAL, **spec))


def choice_field(default: Any = MISSING, **spec: Any) -> Any:
    return _declare(default, SpecField(Kind.CHOICE, **spec))


def text_field(default: Any = MISSING, **spec: Any) -> Any:
    return _declare(default, SpecField(Kind.TEXT, **spec))


def declared(spec_class: Any, name: str) -> SpecField | None:
    for f in fields(spec_class):
        if f.name == name:
            return f.metadata.get("spec")
    return None


def declarations(spec_class: Any) -> list[tuple[str, SpecField, Any]]:
    """(name, declaration, default or MISSING) for each declared field, in order."""
    return [
        (f.name, f.metadata["spec"], f.default) for f in fields(spec_class) if "spec" in f.metadata
    ]


def defaults(spec_class: Any) -> dict[str, Any]:
    return {
        name: default for name, _, default in declarations(spec_class) if default is not MISSING
    }


def bound_errors(spec: Any) -> tuple[FieldErrors, set[str]]:
    """Values outside their declared bounds, and the fields whose value is not even of
    the field's kind (no number, no offered choice): rules must not read those."""
    errors: FieldErrors = {}
    malformed: set[str] = set()
    for name, declaration, _ in declarations(type(spec)):
        value = getattr(spec, name)
        if messages := declaration.errors(value):
            errors[name] = messages
            if (
                declaration.kind in (Kind.CHOICE, Kind.TEXT)
                or _number(value, declaration.kind) is None
            ):
                malformed.add(name)
    return errors, malformed


def _bound_messages(declaration: SpecField) -> dict[str, str]:
    return {"min_value": declaration.too_small(), "max_value": declaration.too_large()}


def _max_digits(declaration: SpecField) -> int:
    whole = len(str(int(declaration.maximum or 0)))
    return whole + declaration.decimal_places


def form_field(declaration: SpecField) -> forms.Field:
    common: dict[str, Any] = {
        "label": declaration.label,
        "help_text": declaration.help_text,
        "required": not declaration.optional,
    }
    if declaration.kind is Kind.CHOICE:
        widget = forms.RadioSelect if declaration.widget is Widget.RADIO else None
        return forms.ChoiceField(choices=declaration.choices or (), widget=widget, **common)
    if declaration.form_choices is not None:  # the form fills the choices in for its user
        return forms.TypedChoiceField(choices=(), coerce=int, empty_value=None, **common)
    if declaration.kind is Kind.TEXT:
        return forms.RegexField(
            regex=rf"\A(?:{declaration.pattern})\Z",
            min_length=int(declaration.minimum or 0),
            max_length=int(declaration.maximum or 0),
            error_messages={"invalid": declaration.pattern_error},
            **common,
        )
    bounds: dict[str, Any] = {"min_value": declaration.minimum, "max_value": declaration.maximum}
    messages: dict[str, Any] = _bound_messages(declaration)
    if declaration.kind is Kind.DECIMAL:
        return forms.DecimalField(
            decimal_places=declaration.decimal_places,
            max_digits=_max_digits(declaration),
            error_messages=messages,
            **bounds,
            **common,
        )
    return forms.IntegerField(error_messages=messages, **bounds, **common)


def form_fields(spec_class: Any) -> dict[str, forms.Field]:
    return {name: form_field(declaration) for name, declaration, _ in declarations(spec_class)}


class _AliasedChoiceField(serializers.ChoiceField):
    """A choice that also takes its aliases (normalised by the declaration, the one rule
    the form, the API and the stored spec share)."""

    def __init__(self, declaration: SpecField, **kwargs: Any) -> None:
        self.declaration = declaration
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(self.declaration.normalise(data))


def serializer_field(declaration: SpecField, default: Any) -> serializers.Field:
    common: dict[str, Any] = {"help_text": declaration.help_text, "label": declaration.label}
    if declaration.optional:
        common |= {"required": False, "allow_null": True, "default": None}
    elif default is not MISSING:
        common["default"] = default
    if declaration.kind is Kind.CHOICE:
        if declaration.aliases is not None:
            return _AliasedChoiceField(declaration, choices=declaration.choice_values(), **common)
        return serializers.ChoiceField(choices=declaration.choice_values(), **common)
    if declaration.kind is Kind.TEXT:
        return serializers.RegexField(
            rf"\A(?:{declaration.pattern})\Z",
            min_length=int(declaration.minimum or 0),
            max_length=int(declaration.maximum or 0),
            error_messages={"invalid": declaration.pattern_error},
            **common,
        )
    bounds: dict[str, Any] = {"min_value": declaration.minimum, "max_value": declaration.maximum}
    messages: dict[str, Any] = _bound_messages(declaration)
    if declaration.kind is Kind.DECIMAL:
        if "default" in common and common["default"] is not None:
            common["default"] = Decimal(common["default"])
        return serializers.DecimalField(
            max_digits=_max_digits(declaration),
            decimal_places=declaration.decimal_places,
            error_messages=messages,
            **bounds,
            **common,
        )
    return serializers.IntegerField(error_messages=messages, **bounds, **common)


def serializer_fields(spec_class: Any) -> dict[str, serializers.Field]:
    return {
        name: serializer_field(declaration, default)
        for name, declaration, default in declarations(spec_class)
    }
