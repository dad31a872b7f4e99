"""The cluster key: one CurveZMQ keypair that every node of a cluster holds, and the rule about needing it.

File format (text, mode 0600; `python cli.py keygen FILE` writes it):

    # printfarm cluster key: a CurveZMQ keypair in Z85. ...
    public = <40 Z85 characters>
    secret = <40 Z85 characters>

Both halves stay secret: every node is a Curve server (its ROUTER) with this keypair and a Curve client (its
DEALERs) presenting the same public key, and a node's ZAP handler admits only clients presenting it. A
process without the file can neither complete the handshake (it does not know the server key) nor pass the
ZAP check (it cannot prove it holds the secret key).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import zmq

HEADER = (
    "# printfarm cluster key: a CurveZMQ keypair in Z85 (python cli.py keygen).\n"
    "# Keep it secret and give every node of the cluster the same file (--cluster-key).\n"
)
Z85_KEY_CHARS = 40


class PeerKeyError(Exception):
    """The key file cannot be used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class ClusterKey:
    public: bytes  # Z85, 40 bytes
    secret: bytes  # Z85, 40 bytes

    def __repr__(self) -> str:  # never print the secret in a log or a traceback
        return f"ClusterKey(public={self.public.decode()[:8]}...)"


def generate() -> ClusterKey:
    if not zmq.has("curve"):
        raise PeerKeyError("this libzmq has no CURVE support (built without libsodium)")
    public, secret = zmq.curve_keypair()
    return ClusterKey(public, secret)


def write(path: str | os.PathLike[str], key: ClusterKey, *, force: bool = False) -> None:
    """Write `key` to `path` with mode 0600; refuses an existing file unless `force`."""
    target = Path(path)
    text = f"{HEADER}public = {key.public.decode()}\nsecret = {key.secret.decode()}\n"
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise PeerKeyError(f"{target} already exists; pass --force to replace it") from None
    except OSError as exc:
        raise PeerKeyError(f"cannot write {target}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # also when --force replaced a file with looser permissions
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def load(path: str | os.PathLike[str]) -> ClusterKey:
    """The key in `path`; PeerKeyError naming the file and the problem otherwise."""
    source = Path(path)
    try:
        text = source.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a text file"
        raise PeerKeyError(f"cannot read the cluster key {source}: {reason}") from None
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise PeerKeyError(f"{source} is not a cluster key file (expected 'public = ' and 'secret = ')")
        values[name.strip()] = value.strip()
    public, secret = values.get("public", ""), values.get("secret", "")
    for name, value in (("public", public), ("secret", secret)):
        if len(value) != Z85_KEY_CHARS:
            raise PeerKeyError(f"{source}: the {name} key must be {Z85_KEY_CHARS} Z85 characters")
    key = ClusterKey(public.encode(), secret.encode())
    try:
        derived = zmq.curve_public(key.secret)
    except (zmq.ZMQError, ValueError) as exc:
        raise PeerKeyError(f"{source}: the secret key is not valid Z85 ({exc})") from None
    if derived != key.public:
        raise PeerKeyError(f"{source}: the public key does not belong to the secret key")
    return key


def readable_by_others(path: str | os.PathLike[str]) -> bool:
    """True if users other than the owner may read the key file (worth a warning, not a refusal)."""
    try:
        return bool(Path(path).stat().st_mode & 0o077)
    except OSError:
        return False


def is_loopback(raft_addr: str) -> bool:
    """True if HOST of HOST:PORT (or tcp://HOST:PORT) can only be reached from this machine."""
    host = raft_addr.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a hostname or a wildcard ("*"): reachable from elsewhere as far as we know
