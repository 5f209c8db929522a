"""Ids of the shell layout's components, shared by pages (page-local ids live in each page)."""

SHELL_LOCATION = "shell-location"
SHELL_ARTIFACT_STORE = "shell-artifact-store"  # {"artifact_id": int} of the model being worked on
SHELL_NAVBAR = "shell-navbar"
