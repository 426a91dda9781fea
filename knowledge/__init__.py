"""The distilled evidence (studies, rules, published results, fitted model) as data.

Installed as ``advisor.knowledge``. The knowledge base and its loader land here.
"""
