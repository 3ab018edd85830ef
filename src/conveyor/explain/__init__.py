"""Explanations: SHAP contributions per feature for given rows, and global importance.

- :mod:`conveyor.explain.explainers`: picks shap's ``TreeExplainer`` for tree models
  (scikit-learn forests and gradient boosting, LightGBM, XGBoost), ``LinearExplainer`` for
  linear models, and LIME's ``LimeTabularExplainer`` as the black-box fallback for pyfunc
  models (shap's ``KernelExplainer`` without lime); ``Unsupported`` (a 4xx
  ``ValidationFailed``) otherwise.
- :mod:`conveyor.explain.summary`: global importance (mean |SHAP|) of a model version,
  computed from its input example or given data and stored with the version.

``shap`` and ``lime`` are optional dependencies (``pip install 'conveyor-mlops[explain]'``),
imported only when something is explained.
"""

from __future__ import annotations

__all__: list[str] = []
