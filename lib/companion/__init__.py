"""A reproducible companion to ten papers by Fort and co-authors.

The notebooks in ``notebooks/`` tell each paper's story; this package does the work:
``data`` (dataset registry), ``nn`` (models and the recording training loop),
``landscape`` (curvature and subspaces), ``experiments`` (one module per paper) and
``notebook`` (parameters, records and the claims table).
"""

__version__ = "0.1.0"
