"""Importer module (hyperliquid); filled in by its owner."""
