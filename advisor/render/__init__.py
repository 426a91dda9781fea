"""Renderers, one module per document: documents in, text out. They read what the services
computed and compute nothing new."""
