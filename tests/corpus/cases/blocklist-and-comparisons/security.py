import ipaddress

from flask import abort, request

BLOCKED_HOSTS = {"0.0.0.0", "::", "*", "[::]"}
WILDCARDS = ("0.0.0.0", "::")


def reject_wildcard_host() -> None:
    host = request.host.rsplit(":", 1)[0]
    if host in BLOCKED_HOSTS:
        abort(400)


def is_wildcard(addr: str) -> bool:
    return addr == "0.0.0.0" or ipaddress.ip_address(addr).is_unspecified


def check_config(cfg: dict) -> None:
    assert cfg.get("bind") != "0.0.0.0", "refusing to bind every interface"
