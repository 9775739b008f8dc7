"""`bindscope audit`: a static scan of code and config for exposure mistakes.

Layout (one owner per module):
- model.py       the types scanners return (Hit, Fact) and the engine reports (AuditFinding)
- rules.py       the rule catalogue: ids, default severities, titles (docs/RULES.md documents each)
- engine.py      walking a tree, file kinds, prefilter, suppression, config, the AuditReport
- pyscan.py      Python files (AST with constant propagation): bind-all, debug-exposed, django-*,
                 jupyter-open
- cmdline.py     the one command-line parser (Procfile, shell, Dockerfile, compose, Makefile,
                 systemd ExecStart, uwsgi.ini keys); reads knowledge/servers.py
- confscan.py    scanners for the non-Python kinds (they call cmdline.py)
- link.py        the project pass: Dockerfile <-> compose by build context, nginx upstreams
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """`bindscope.audit(...)` is the API function (api.audit); once this package is imported,
    Python binds the name `bindscope.audit` to the package instead, so the package calls it too."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from ..api import audit

        return audit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
