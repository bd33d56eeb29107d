"""Importer module (okx); filled in by its owner."""
