"""Ids of the shell layout's components, shared by pages (page-local ids live in each page)."""

SHELL_LOCATION = "shell-location"
SHELL_ARTIFACT_STORE = "shell-artifact-store"  # {"artifact_id": int} of the model being worked on
SHELL_NAVBAR = "shell-navbar"
SHELL_SCHEMA_STORE = "shell-schema-store"  # a Schema edited on the Schema page, to start a run with
SHELL_NAVBAR_TOGGLER = "shell-navbar-toggler"  # the phone's menu button
SHELL_NAVBAR_COLLAPSE = "shell-navbar-collapse"
