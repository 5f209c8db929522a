"""The checks a suite runs, each ``compute(ctx: SuiteContext) -> dict``: performance, robustness and quality
(with its bootstrap) here; drift and explainability are packages of their own (``core/drift``,
``core/explain``).
"""
