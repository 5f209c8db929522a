"""Drift: scenarios, per-column detection, impact on the model, detector power and the Result section."""
