"""From a dataset (its analysis, or a card) to advice.

``card`` reads a dataset card, ``features`` describes a dataset with the features the engine
reads, ``rules`` evaluates the knowledge base's rules on them, ``fit`` fits the gain model on the
published comparisons, ``decide`` turns rules and model into a recommendation (``flips``: what
would change it; ``recipe``: what to do next) and combines it with a pilot, and ``experience``
keeps the user's finished pilots.
"""
