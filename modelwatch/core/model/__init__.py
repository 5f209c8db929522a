"""A loaded model: what it says about itself (``introspect``), what it knows of its inputs (``priors``) and
how to call it (``predict``). Runs inside the sandbox.
"""
