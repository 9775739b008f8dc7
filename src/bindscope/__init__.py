"""bindscope: who can reach my server, why can't my phone connect, and what do I change?

The public API is imported lazily so that `import bindscope` and `bindscope --version`
stay fast (no psutil, rich or segno until a function needs them).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "snapshot": "api",
    "load_snapshot": "api",
    "explain": "api",
    "lan_urls": "api",
    "check_port_use": "api",
    "find_free_port": "api",
    "listeners": "api",
    "doctor": "api",
    "probe": "api",
    "plan_share": "api",
    "share": "api",
    "audit": "api",
    "parse_target": "addr",
    "BindscopeError": "errors",
    "Snapshot": "model",
    "Reach": "model",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        module = importlib.import_module(f".{_API[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'bindscope' has no attribute {name!r}")
