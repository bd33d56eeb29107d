"""Importer module (ohlcv); filled in by its owner."""
