"""The documents the tool reads and writes, as pydantic models, one module per document.

Each top-level document carries ``schema_version`` so that tools reading our JSON can tell which
shape they hold; ``advisor schema NAME`` prints the JSON Schema generated from these models,
which is the contract the tests hold every written document to. ``vocabulary`` holds the words
every layer shares and imports nothing but the standard library; this package imports nothing
from the rest of ``advisor``.
"""
