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


def test_numbers_too_long_to_write_out_are_shown_as_recorded():
    """A token named with 60 nines or a hex prefix reading as 1e999999 used to stop the audit
    page (Decimal.quantize beyond its precision); such values are shown as recorded."""
    nines = "9" * 60
    shown = changes(
        {"name": nines, "budget": "1e400"},
        {"name": "1e999999", "budget": "12.5", "ratio": float("nan"), "tiny": "1e-400"},
    )
    assert shown["name"] == (nines, "1e999999")
    assert shown["budget"] == ("1e400", "$12.50")
    assert shown["ratio"] == ("—", "nan")
    assert shown["tiny"] == ("—", "1e-400")
