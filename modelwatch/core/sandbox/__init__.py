"""The sandbox: a task on an untrusted model runs in a hardened child process, never in the caller.

``runner`` is the parent's side (limits, the warm zygote, ``run_task``); ``child`` and ``zygote`` run
inside; ``channels`` are the pipes between them; ``privileges``, ``landlock``, ``seccomp`` and
``seccomp_policy`` harden the child.
"""
