"""Importer module (kraken); filled in by its owner."""
