"""``advisor pilot``: a short, fair, budgeted trial of the paradigms on the user's own data.

``settings`` and ``budget`` check what was asked, ``data`` decodes the images once and splits
them per seed, ``models`` builds the arms' networks and the self-supervised heads (lightly),
``train`` runs the fine-tuning and self-supervised phases on Lightning Fabric, ``selftrain``
picks the ``tl+st`` student's pseudo-labels from its teacher's, ``units`` trains and scores one
arm of one seed, ``plan`` decides the steps, ``store`` keeps plan, units and
checkpoints on disk for resuming, ``interrupt`` handles Ctrl-C, ``stats`` turns predictions into
paired intervals and the summary, and ``runner`` runs it all.
"""
