"""SSRF guard: which outbound destinations a connector kind may reach.

Rules (enforced by `shared.net.http.build_client`, in its transport, for every request):

* each kind talks only to its vendor's hosts over https on port 443 (`VENDOR_HOSTS`, filled
  by `register_vendor_hosts`: each connection model in `shared.connectors.settings` declares
  its hosts, and a connector its file hosts);
* kinds that may be self-hosted (Jira, Azure DevOps Server) may also reach the host of
  their configured base URL: https only, and only if every address it resolves to is
  public;
* every resolved address must be public: no loopback, private, link-local (incl. the
  169.254.169.254 metadata service), CGNAT, multicast, reserved or unspecified address,
  in IPv4 or IPv6 form (IPv4-mapped, IPv4-compatible, 6to4, NAT64 and Teredo forms are
  judged by the IPv4 address they carry);
* IP literals in other spellings than canonical dotted quad (decimal `2130706433`,
  octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`) are refused outright;
* `allow_loopback` (local mode only) additionally permits loopback addresses and
  `localhost`, any port, over http or https, for the vendor simulators.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from shared.errors import UnsafeDestinationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

#: vendor API hosts per connector kind; "*.example.com" matches any subdomain only
VENDOR_HOSTS: dict[str, tuple[str, ...]] = {}
#: kinds whose configured base URL may name a self-hosted server
SELF_HOSTED_KINDS: set[str] = set()

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# BSD inet_aton accepts 1-4 parts, each decimal, octal (leading 0) or hex (0x)
_NUMERIC_HOST = re.compile(r"(?i)^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$")


def register_vendor_hosts(kind: str, hosts: tuple[str, ...], *, self_hosted: bool = False) -> None:
    """Declare the hosts a (new) connector kind may reach."""
    VENDOR_HOSTS[kind] = tuple(h.lower() for h in hosts)
    if self_hosted:
        SELF_HOSTED_KINDS.add(kind)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The IP address `host` spells, in any spelling a resolver would accept, else None."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if not _NUMERIC_HOST.match(text):
        return None
    parts = list(text.rstrip(".").split("."))
    try:
        nums = [
            int(p, 16) if p.lower().startswith("0x") else int(p, 8) if len(p) > 1 and p.startswith("0") else int(p)
            for p in parts
        ]
    except ValueError as exc:  # "0x" alone, "08"
        raise UnsafeDestinationError("malformed numeric host") from exc
    # a.b.c.d / a.b.(16 bits) / a.(24 bits) / (32 bits), as inet_aton reads them
    limits = {1: [2**32], 2: [2**8, 2**24], 3: [2**8, 2**8, 2**16], 4: [2**8] * 4}[len(nums)]
    if any(n >= lim for n, lim in zip(nums, limits, strict=True)):
        raise UnsafeDestinationError("malformed numeric host")
    value = 0
    for n, lim in zip(nums, limits, strict=True):
        value = value * lim + n
    return ipaddress.IPv4Address(value)


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
        if ip in _IPV4_COMPATIBLE or ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_unspecified
    )


def _is_loopback(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        suffix = pattern[1:]
        return host.endswith(suffix) and len(host) > len(suffix)
    return host == pattern


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the OS resolver (off the event loop); addresses in resolver order."""
    import anyio

    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in seen:
            seen.append(address)
    return seen


@dataclass(frozen=True)
class DestinationPolicy:
    """Allowed destinations of one connector client."""

    kind: str
    vendor_hosts: tuple[str, ...]
    #: (scheme, host, port) origins allowed besides the vendor hosts (self-hosted base URL)
    extra_origins: frozenset[tuple[str, str, int]] = field(default_factory=frozenset)
    allow_loopback: bool = False

    def check_url(self, url: httpx.URL) -> None:
        """Refuse a URL whose scheme, host or port this kind may not use (no I/O)."""
        host = url.host.lower().rstrip(".")
        scheme = url.scheme
        port = url.port or (443 if scheme == "https" else 80)
        refusal = _judge(self, scheme, host, port)
        if refusal is not None:
            raise UnsafeDestinationError(refusal)

    def check_addresses(self, host: str, addresses: list[str]) -> list[str]:
        """Return `addresses` if every one is allowed, else raise (one bad one fails all)."""
        if not addresses:
            raise UnsafeDestinationError(f"{host} did not resolve")
        for text in addresses:
            ip = ipaddress.ip_address(text)
            if is_public_address(ip) or (self.allow_loopback and _is_loopback(ip)):
                continue
            raise UnsafeDestinationError(f"{host} resolves to a non-public address")
        return addresses


@functools.lru_cache(maxsize=1024)
def _judge(policy: DestinationPolicy, scheme: str, host: str, port: int) -> str | None:
    """Why ``policy`` refuses ``scheme://host:port`` (None: allowed). A function of its
    arguments alone (the policy is frozen), so remembered: a client asks it of the same few
    origins on every request (issue 19: parsing the host as an IP literal each time was ~2 %
    of a worker's CPU)."""
    where = f"{scheme}://{host}:{port}"
    if scheme not in ("http", "https"):
        return f"scheme not allowed: {where}"
    ip = parse_ip_literal(host)
    if ip is not None:
        if str(ip) != host.strip("[]"):
            return f"non-canonical IP address spelling: {where}"
        if not is_public_address(ip) and not (policy.allow_loopback and _is_loopback(ip)):
            return f"address not allowed: {where}"
    loopback_name = policy.allow_loopback and (host == "localhost" or (ip is not None and _is_loopback(ip)))
    if scheme != "https" and not loopback_name:
        return f"only https is allowed: {where}"
    if loopback_name:  # local mode: any simulator port on this machine
        return None
    if port == 443 and scheme == "https" and any(_host_matches(host, p) for p in policy.vendor_hosts):
        return None
    if (scheme, host, port) in policy.extra_origins:
        return None
    return f"host not allowed for {policy.kind}: {where}"


def policy_for(kind: str, *, allow_loopback: bool = False, base_url: str | None = None) -> DestinationPolicy:
    """Build the policy of one connector client; refuses an unusable `base_url` early."""
    if kind not in VENDOR_HOSTS:
        raise UnsafeDestinationError(f"no outbound hosts are registered for kind {kind!r}")
    policy = DestinationPolicy(kind, VENDOR_HOSTS[kind], allow_loopback=allow_loopback)
    if base_url is None:
        return policy
    url = httpx.URL(base_url)
    scheme, host = url.scheme, url.host.lower().rstrip(".")
    origin = (scheme, host, url.port or (443 if scheme == "https" else 80))
    ip = parse_ip_literal(host) if host else None
    is_loopback = host == "localhost" or (ip is not None and _is_loopback(ip))
    if (kind in SELF_HOSTED_KINDS and scheme == "https") or (allow_loopback and is_loopback):
        policy = DestinationPolicy(kind, policy.vendor_hosts, frozenset({origin}), allow_loopback)
    policy.check_url(url)
    return policy
