"""Production batches: compared with a reference (``batches``), alert rules on the series, and signed
webhooks.
"""
