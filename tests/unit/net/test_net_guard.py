"""Destination policy: IP spellings, public-address test, hosts per kind (no I/O)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from shared.errors import UnsafeDestinationError
from shared.net.guard import is_public_address, parse_ip_literal, policy_for


@pytest.mark.parametrize(
    "spelling",
    [
        "127.0.0.1",
        "2130706433",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0x7f000001",
        "017700000001",
        "127.1",
        "0x7f.1",
        "127.0.1",
        "0177.0.0.01",
        "127.0.0.1.",
    ],
)
def test_every_loopback_spelling_parses_to_loopback(spelling: str) -> None:
    assert parse_ip_literal(spelling) == ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize("host", ["api.trello.com", "1e100.net", "x.atlassian.net", "0x.com"])
def test_names_are_not_ip_literals(host: str) -> None:
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize("host", ["256.0.0.1", "0x100.0.0.1", "08.0.0.1", "1.2.3.4.5"])
def test_malformed_numeric_hosts_are_refused_or_not_ips(host: str) -> None:
    try:
        parsed = parse_ip_literal(host)
    except UnsafeDestinationError:
        return
    assert parsed is None  # "1.2.3.4.5" is not numeric host syntax at all


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "192.0.2.1",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "fec0::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::",
        "2001:db8::1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "104.192.141.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("trello", "https://api.trello.com/1/boards"),
        ("asana", "https://app.asana.com/api/1.0/users/me"),
        ("planner", "https://graph.microsoft.com/v1.0/planner/plans"),
        ("planner", "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token"),
        ("jira", "https://acme.atlassian.net/rest/api/3/myself"),
        ("azure_devops", "https://dev.azure.com/acme/_apis/projects"),
        ("monday", "https://api.monday.com/v2"),
    ],
)
def test_vendor_hosts_are_allowed(kind: str, url: str) -> None:
    policy_for(kind).check_url(httpx.URL(url))


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("trello", "https://app.asana.com/api/1.0"),  # another vendor
        ("trello", "http://api.trello.com/1"),  # plain http
        ("trello", "https://api.trello.com:8443/1"),  # other port
        ("trello", "https://api.trello.com.evil.example/1"),  # suffix trick
        ("jira", "https://atlassian.net/"),  # wildcard needs a subdomain
        ("jira", "https://evilatlassian.net/"),
        ("monday", "ftp://api.monday.com/"),
    ],
)
def test_other_destinations_are_refused(kind: str, url: str) -> None:
    with pytest.raises(UnsafeDestinationError):
        policy_for(kind).check_url(httpx.URL(url))


def test_self_hosted_base_url_only_for_self_hosted_kinds_and_https() -> None:
    policy_for("jira", base_url="https://jira.example.org").check_url(
        httpx.URL("https://jira.example.org/rest/api/2/myself")
    )
    policy_for("azure_devops", base_url="https://tfs.example.org:8443/tfs").check_url(
        httpx.URL("https://tfs.example.org:8443/tfs/_apis/projects")
    )
    with pytest.raises(UnsafeDestinationError):
        policy_for("jira", base_url="http://jira.example.org")
    with pytest.raises(UnsafeDestinationError):
        policy_for("trello", base_url="https://trello-proxy.example.org")
    with pytest.raises(UnsafeDestinationError):
        policy_for("jira", base_url="https://10.0.0.8")
    with pytest.raises(UnsafeDestinationError):
        policy_for("unknown-kind")


def test_loopback_only_when_explicitly_allowed() -> None:
    with pytest.raises(UnsafeDestinationError):
        policy_for("trello", base_url="http://127.0.0.1:9000/1")
    policy = policy_for("trello", allow_loopback=True, base_url="http://127.0.0.1:9000/1")
    policy.check_url(httpx.URL("http://127.0.0.1:9000/1/boards"))
    policy.check_url(httpx.URL("http://localhost:9001/1/boards"))
    for url in ("http://10.0.0.1/", "https://2130706433/", "http://169.254.169.254/"):
        with pytest.raises(UnsafeDestinationError):
            policy.check_url(httpx.URL(url))
    with pytest.raises(UnsafeDestinationError):
        policy.check_addresses("sim", ["127.0.0.1", "10.0.0.1"])
    assert policy.check_addresses("sim", ["127.0.0.1", "::1"]) == ["127.0.0.1", "::1"]
