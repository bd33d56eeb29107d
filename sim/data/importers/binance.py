"""Importer module (binance); filled in by its owner."""
