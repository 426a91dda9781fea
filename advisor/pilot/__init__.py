"""``advisor pilot``: a short, fair, budgeted trial of the paradigms on the user's own data.

``budget`` parses budgets, ``data`` decodes the images once and splits them per seed, ``models``
builds the arms' networks and the self-supervised heads (lightly), ``train`` runs the
fine-tuning and self-supervised phases on Lightning Fabric, ``stats`` turns predictions into
paired intervals, and ``runner`` plans, runs, saves and resumes.
"""
