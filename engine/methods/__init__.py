"""The method library: every normalisation, aggregation, weighting, imputation, treatment
and transform, each declared once.

* :mod:`engine.methods.registry`: what a declaration is (:class:`~registry.Method`,
  :class:`~registry.Param`, rules, implementation kinds);
* one module per stage with its declarations and their sympy templates:
  :mod:`~engine.methods.normalise` and :mod:`~engine.methods.normalise_rank`
  (with :mod:`~engine.methods.normalise_context`), :mod:`~engine.methods.transform`,
  :mod:`~engine.methods.aggregate` and :mod:`~engine.methods.aggregate_mcda`,
  :mod:`~engine.methods.weights`, :mod:`~engine.methods.impute`,
  :mod:`~engine.methods.treat` (implemented by :mod:`~engine.methods.winsorise`);
* :mod:`engine.methods.catalogue`: lookups by stage and name, and the operations the
  plan and the analyses use; :mod:`engine.methods.listing`: the listings of
  ``indexlab methods`` and ``docs/methods.md``;
* :mod:`engine.methods.pca`: the estimator of ``weighting: pca``.

Adding a method is one declaration in its stage module (listed in that module's
``METHODS``) and its tests: the schema, the docs tables, the listing and the semantic
rules follow from it.
"""
