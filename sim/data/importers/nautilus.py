"""Importer module (nautilus); filled in by its owner."""
