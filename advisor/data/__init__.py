"""The dataset itself, with no neural network: finding and reading the files (``scan``,
``images``), choosing samples (``sampling``), the profile with its problems (``profile``,
``duplicates``, ``imbalance``) and the datasets the tool writes itself (``digits``, ``shapes``,
``writing``)."""
