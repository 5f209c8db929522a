"""Reading a finished Result: the verdict, gates (fixed and relative to a champion), the headlines a run
carries while it computes, flat metric rows; and strict JSON for everything a result holds.
"""
