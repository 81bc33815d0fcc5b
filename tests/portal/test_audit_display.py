"""The audit trail reads as the pages do: money through the one formatter, numbers without
exponents or trailing zeros, lists and nested objects as text rather than Python reprs."""

from types import SimpleNamespace

from portal.templatetags.audit_changes import audit_changes


def changes(before: dict, after: dict) -> dict[str, tuple[str, str]]:
    event = SimpleNamespace(before=before, after=after)
    return {field: (old, new) for field, old, new in audit_changes(event)}


def test_money_numbers_and_lists_are_shown_as_people_read_them():
    shown = changes(
        {"estimate": {"monthly": "0E-7", "lines": [["GPU", "0.5"]]}, "ratio": "1.50000"},
        {
            "estimate": {"monthly": "345.7572000000000000000000000", "lines": [["GPU", "0.75"]]},
            "ratio": "0E-7",
            "zones": ["us-central1-a", "us-central1-b"],
        },
    )
    assert shown["estimate.monthly"] == ("$0.00", "$345.76")
    assert shown["ratio"] == ("1.5", "0")  # 0E-7 is zero, written with an exponent
    assert shown["zones"] == ("—", "us-central1-a, us-central1-b")
    old, new = shown["estimate.lines"]
    assert "[" not in old + new and new == "GPU 0.75"
