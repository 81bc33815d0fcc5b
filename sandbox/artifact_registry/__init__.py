"""Artifact Registry v1: Docker repositories and the images pushed to them."""
