"""The audit rule catalogue. One id per mistake, whatever the file type it is found in
(`bind-all` in app.py, a Procfile or a compose `command:` is the same mistake). docs/RULES.md
documents each rule with a bad and a good example; a test keeps the two in step."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # default; a Hit may override it (context), [tool.bindscope] may remap it
    title: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("bind-all", "medium", "server bound to every interface"),
        Rule("bind-all-default", "medium", "server started without a host binds every interface by default"),
        Rule("debug-exposed", "critical", "debug server reachable beyond this machine"),
        Rule("jupyter-open", "critical", "Jupyter on every interface without a token"),
        Rule("django-debug", "medium", "Django DEBUG = True outside development settings"),
        Rule("django-allowed-hosts-any", "medium", "Django ALLOWED_HOSTS accepts any host"),
        Rule("publish-all", "medium", "container port published on every host address (bypasses ufw/firewalld)"),
        Rule("publish-datastore", "high", "datastore, admin UI or debug service published beyond this machine"),
        Rule("host-network", "medium", "container shares the host's network (network_mode: host)"),
        Rule("debug-env-published", "high", "debug mode switched on for a service reachable beyond this machine"),
        Rule("proxy-bypass", "medium", "app server behind the proxy is also published directly"),
    )
}
