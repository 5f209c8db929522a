"""Explainability: SHAP attributions in the model's raw input features, chosen per model, within a time budget."""
