"""Money as people read it: the one formatter lives in portal.money (the audit page, below
this app, formats with it too); the pricing code and its callers import it from here."""

from portal.money import usd, usd_range

__all__ = ["usd", "usd_range"]
