"""HTTPS for the API: the certificate and key are checked at start-up, so a bad file stops the node with a
sentence naming it instead of failing inside the HTTP server later."""

from __future__ import annotations

import ssl


class TlsConfigError(OSError):
    """--tls-cert / --tls-key cannot be used (cli.py reports it and exits 1)."""


def check_tls_files(cert: str | None, key: str | None) -> None:
    """Raise TlsConfigError unless both or neither are given and they load as a matching pair."""
    if cert is None and key is None:
        return
    if cert is None or key is None:
        raise TlsConfigError("--tls-cert and --tls-key go together: give both files, or neither")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise TlsConfigError(f"cannot read {exc.filename or cert}: no such file") from None
    except PermissionError as exc:
        raise TlsConfigError(f"cannot read {exc.filename or cert}: permission denied") from None
    except ssl.SSLError as exc:
        raise TlsConfigError(
            f"--tls-cert {cert} / --tls-key {key} are not a PEM certificate and its private key "
            f"({exc.reason or exc})"
        ) from None
    except OSError as exc:
        raise TlsConfigError(f"cannot load --tls-cert {cert} / --tls-key {key}: {exc}") from None
