"""What a run feeds the model: synthetic frames from a Schema (``synthetic``, ``copula``), edge cases, and
the demo models with their labelled samples.
"""
