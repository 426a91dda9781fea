"""Renderers: documents in, text out (the terminal now, an HTML report later)."""
