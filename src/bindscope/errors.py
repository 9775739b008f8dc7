"""The tool's own error type: a one-line message for the user, exit code 2 at the CLI."""


class BindscopeError(ValueError):
    """Bad input (a target, a port, a snapshot file, an option): say it in one line.

    The CLI prints ``bindscope: error: <message>`` on stderr and exits 2.
    """


class NoFreePort(BindscopeError):
    """No free port in the range searched: a finding (exit 1), not bad input."""


class ShareRefused(BindscopeError):
    """`share` will not share this port (nothing listens, already reachable, a datastore or a
    debug server without --i-know, cannot listen): a finding (exit 1), not bad input."""
