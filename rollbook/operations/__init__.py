"""The pipeline's own bookkeeping operations (``run``: lock, recorded state, history).

Shared host operations are in ``rollbook.host``; a system's own in ``rollbook.systems.<system>``.
"""
