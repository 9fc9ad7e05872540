"""Requests to URLs a corporation chose, which must never reach the service's own network.

The webhook worker sends from inside our network to a URL an outsider typed in, so without
care it is a way in (server-side request forgery): to the cloud metadata service, the
database, an admin port on loopback. The defences, in order:

- At registration, ``host_problem`` refuses every host that needs no DNS to be refused: IP
  literals of any non-public kind, single-label names (``localhost``, ``metadata``), and the
  suffixes that never resolve publicly (``.localhost``, ``.local``, ``.internal``, …).
- At send time, ``resolve`` looks the name up once and refuses it unless every address is
  public (``is_public``: no loopback, private, link-local, CGNAT, multicast, reserved or
  documentation address, nor one hidden in IPv4-mapped, NAT64 or 6to4 form).
- The request then goes to the address that was checked (``pinned``): the URL's host is
  replaced by it, while the ``Host`` header and TLS (SNI and the certificate check) keep the
  name. So no second lookup takes place, and a name that answers a public address to the
  check and a private one to the connection (DNS rebinding) gains nothing.
- The client follows no redirect, uses no proxy from the environment (a proxy would look the
  name up again) and keeps no connection alive between deliveries.
- What the corporation sees in the delivery log is a class of failure (``HTTP 502``,
  ``NO_RESPONSE``, ``ADDRESS_REFUSED``), never the peer's bytes nor whether a port refused
  the connection or failed TLS: otherwise the log is a port scanner's output.

httpx has no hook to connect to an address other than the URL's host; naming the checked
address in the URL and the name in ``sni_hostname`` (an httpcore request extension) does it
with the library's own TLS handling.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[IPAddress]]
"""Host name and port → its addresses (raises ``OSError`` when the name does not resolve)."""

ADDRESS_REFUSED = "URL refused: the host does not resolve to public addresses only"
NO_RESPONSE = "no HTTP response (the connection, TLS or the time limit failed)"
# Addresses of one name tried in turn when the connection fails before any byte is sent.
MAX_ADDRESSES = 4

# Blocks no webhook receiver may be in: IANA's special-purpose registries (not globally
# reachable, documentation, benchmarking, multicast, reserved). Listed here rather than left to
# ``ipaddress``'s ``is_global`` alone, whose tables differ between Python versions.
_BLOCKED = tuple(
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/8",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Names under these never resolve on the public internet (RFC 6761, 6762, 8375, 9476, ICANN's
# .internal), or are the usual private-network suffixes a resolver inside our network answers.
RESERVED_SUFFIXES = (
    "localhost",
    "localdomain",
    "local",
    "internal",
    "intranet",
    "lan",
    "home",
    "corp",
    "private",
    "arpa",
    "test",
    "example",
    "invalid",
    "onion",
    "alt",
)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and leads to: IPv4-mapped (``::ffff:a.b.c.d``),
    NAT64 (``64:ff9b::a.b.c.d``) or 6to4 (``2002:aabb:ccdd::``)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


def is_public(address: IPAddress) -> bool:
    """Whether a webhook may be sent to this address: globally reachable unicast only, and for
    an IPv6 form that carries an IPv4 address, that IPv4 address too (Teredo is refused)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    if any(address in block for block in _BLOCKED):
        return False
    return address.is_global and not address.is_multicast


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def host_problem(host: str) -> str | None:
    """Why a URL's host (lower case, IDNA-encoded, IPv6 without brackets) can never be a
    public receiver, as far as that is known without DNS; None when it may be."""
    name = host.rstrip(".")
    address = literal_address(name)
    if address is not None:
        return None if is_public(address) else "the URL must name a public address"
    labels = name.split(".")
    if len(labels) < 2 or not all(labels):
        return "the URL must name a fully qualified public host"
    last = labels[-1]
    if last.isdigit() or last.startswith("0x"):
        # 127.1, 0x7f.0.0.1, 2130706433: addresses in forms resolvers still accept.
        return "the URL must name a host, or an address in dotted or IPv6 form"
    if last in RESERVED_SUFFIXES or ".".join(labels[-2:]) == "home.arpa":
        return "the URL must name a public host"
    return None


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The operating system's resolver (``getaddrinfo``), its order kept."""
    addresses: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(str(sockaddr[0]))
        if address not in addresses:
            addresses.append(address)
    return addresses


def resolve(
    url: httpx.URL, resolver: Resolver, *, allow_loopback: bool = False
) -> list[IPAddress] | None:
    """The addresses to send to, or None when the host is refused: it does not resolve, or
    one of its addresses is not public (``allow_loopback``: loopback ones are allowed)."""
    host = url.raw_host.decode("ascii").rstrip(".")
    literal = literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            addresses = list(resolver(host, port_of(url)))
        except (OSError, UnicodeError, ValueError):
            return None
    if not addresses:
        return None
    for address in addresses:
        if not (is_public(address) or (allow_loopback and address.is_loopback)):
            return None
    return addresses[:MAX_ADDRESSES]


def port_of(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def pinned(url: httpx.URL, address: IPAddress) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL naming ``address`` instead of the host, the ``Host`` header that keeps the name,
    and the request extensions that keep it for TLS (SNI and the certificate's name)."""
    host = url.raw_host.decode("ascii")
    extensions = {}
    if url.scheme == "https" and literal_address(host) is None:
        extensions["sni_hostname"] = host.rstrip(".")
    return (
        url.copy_with(host=str(address)),
        {"Host": url.netloc.decode("ascii")},
        extensions,
    )


def make_client(*, timeout: float, user_agent: str) -> httpx.Client:
    return httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        # A proxy from the environment would resolve the name itself, after our check.
        trust_env=False,
        # A kept connection belongs to an address, not a name: every delivery connects anew
        # to the address it checked, with that delivery's name for TLS.
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"User-Agent": user_agent},
    )
