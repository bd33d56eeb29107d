"""Importer module (coinbase); filled in by its owner."""
