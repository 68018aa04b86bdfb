"""Preflight's refusal: bad input or a refused run, said before any host is touched.

Every refusal is a ``PreflightError``: pyinfra prints it as one line naming the cause and exits
non-zero, before any operation runs. The checks themselves live where the data is declared (the
settings models, ``rollbook.core.schema``) and loaded (``rollbook.core.loader``)::

    >>> raise PreflightError("vision_waves: unknown 'd' (allowed: a, b, c, tokens)")
    Traceback (most recent call last):
    rollbook.core.preflight.PreflightError: vision_waves: unknown 'd' (allowed: a, b, c, tokens)
"""

from pyinfra.api.exceptions import PyinfraError


class PreflightError(PyinfraError):
    """Bad input or a refused run, raised before any change."""
