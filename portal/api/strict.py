"""Input serializers that refuse fields they do not know.

DRF ignores unknown keys, so a misspelt `max_instance` would silently fall back to the
default and deploy something other than what the caller meant. Refusing it names the typo.
"""

from typing import Any

from rest_framework import serializers

# How many unknown names an error lists; the rest would only lengthen a hostile reply.
LISTED = 10


class StrictFieldsMixin:
    """Refuse any key of the body that is not one of the serializer's fields."""

    fields: Any
    initial_data: Any

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(str(key)[:60] for key in data if key not in self.fields)
            if unknown:
                known = ", ".join(sorted(self.fields))
                raise serializers.ValidationError(
                    {key: [f"Unknown field. Known fields: {known}."] for key in unknown[:LISTED]}
                )
        return super().to_internal_value(data)  # type: ignore[misc]
