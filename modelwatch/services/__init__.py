"""Use cases: one function each, owning its database transaction. The API and the pages call these."""
