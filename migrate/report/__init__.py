"""Renderers: results in, text out. No file or network I/O here."""
