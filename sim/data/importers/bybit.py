"""Importer module (bybit); filled in by its owner."""
