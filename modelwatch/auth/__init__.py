"""Accounts and access: who is calling (principal), what they may do (permissions), and the one gate in front of
the REST API, the Dash pages and the Dash callbacks."""
