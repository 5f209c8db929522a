"""The feature Schema document: validated (``document``), built from the model (``from_model``) or a sample
CSV (``from_csv``), the two merged (``merge``), and a CSV's columns matched to the model's (``columns``).
"""
