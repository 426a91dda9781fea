"""Measurements over feature arrays: pure functions, no printing, no CLI, no file I/O.

Installed as ``advisor.probes``. The backbone probes (domain gap, transferability) land here.
"""
