"""Reusable ComponentResources composed per environment by ``__main__.py``."""
