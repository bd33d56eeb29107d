"""Importer module (tardis); filled in by its owner."""
