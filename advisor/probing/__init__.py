"""A pretrained backbone's view of a dataset.

``sources`` resolves a spec to a ready network (``imagenet``, ``hubs``, ``checkpoints``,
``preprocessing``, ``backbone``; ``catalogue`` lists what works offline), ``extraction`` runs the
images through it on the chosen ``device``, ``cache`` keeps the arrays on disk, ``readings`` turns
them into the probes document with the pure functions of ``advisor.probes``, ``anchors`` places
the domain gap between reference sets, and ``stage`` runs it all for ``analyze``. ``settings``
imports no torch, so that the command line can build the options cheaply.
"""
