"""The distilled evidence (studies, rules, published results, recipe steps, fitted model and
domain-gap calibration) as data files, and the loaders that validate them.

Installed as ``advisor.knowledge``. ``base`` loads the knowledge base, ``model`` the fitted gain
model, ``calibration`` the domain-gap anchors; the records' models are in ``advisor.schema``.
"""
