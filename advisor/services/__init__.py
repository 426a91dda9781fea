"""The one layer the command line calls: settings in, a document out, progress through a
``Progress``. Each module is one job: ``analyze``, ``decide``, ``pilot`` (run a pilot),
``combine`` (a pilot with the literature), ``knowledge``, ``demo``, ``backbones``, ``schema``.

The modules import what their job needs when it runs, not when they are imported, so that the
command line starts without loading torch or scipy.
"""
