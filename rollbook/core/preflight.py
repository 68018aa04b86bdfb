"""Preflight's refusal, which pyinfra prints as one line before any host is touched::

    raise PreflightError("vision_waves: unknown 'd' (allowed: a, b, c, tokens)")
"""

from pyinfra.api.exceptions import PyinfraError


class PreflightError(PyinfraError):
    """Bad input or a refused run, raised before any change."""
