"""Prices and the one estimator every page, form and API call uses."""
