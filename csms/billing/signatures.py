"""Checking that a payment callback comes from the provider, over the raw bytes it sent.

Each scheme follows its provider's documentation: Stripe's HMAC ``Stripe-Signature`` header,
WeChat Pay v3's RSA-SHA256 over "timestamp\\nnonce\\nbody\\n" with its AES-256-GCM resource,
and Alipay's RSA2 over the sorted notify parameters. A callback older than the tolerance is
refused, so a captured one cannot be replayed later (a replay within it finds its event id).

CallbackRejected
├── BadSignature       the signature is missing or does not match
├── StaleCallback      signed too long ago (or too far ahead)
└── MalformedCallback  signed, but not a payload we can read
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class CallbackRejected(Exception):
    """A callback we must not act on; the webhook answers 400."""


class BadSignature(CallbackRejected):
    pass


class StaleCallback(CallbackRejected):
    pass


class MalformedCallback(CallbackRejected):
    pass


def check_fresh(signed_at: datetime, now: datetime, tolerance_s: int) -> None:
    """Refuse a callback signed more than the tolerance away from ``now``, either way."""
    if abs(now - signed_at) > timedelta(seconds=tolerance_s):
        raise StaleCallback(f"Signed at {signed_at.isoformat()}, outside {tolerance_s} s of now")


def stripe_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The v1 scheme: hex HMAC-SHA256 of "<timestamp>.<raw body>" with the endpoint secret."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def stripe_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={stripe_signature(secret, timestamp, body)}"


def verify_stripe(header: str | None, body: bytes, secret: str, now: datetime, tolerance_s: int) -> None:
    """Check a ``Stripe-Signature`` header; any of its v1 signatures may match (Stripe sends
    several while an endpoint secret is being rolled)."""
    timestamp, candidates = _stripe_parts(header or "")
    expected = stripe_signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise BadSignature("No v1 signature matches")
    check_fresh(datetime.fromtimestamp(timestamp, now.tzinfo), now, tolerance_s)


def _stripe_parts(header: str) -> tuple[int, list[str]]:
    pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for name, value in pairs if name.strip() == "t"]
    candidates = [value for name, value in pairs if name.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not candidates:
        raise BadSignature("Stripe-Signature needs one t=<unix time> and a v1=<signature>")
    return int(stamps[0]), candidates


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """An RSA public key from PEM (a provider's platform or public key)."""
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("Not an RSA public key")
    return key


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (our merchant key, which signs our requests to a provider)."""
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("Not an RSA private key")
    return key


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """SHA256withRSA, PKCS#1 v1.5, in base64: what both WeChat Pay v3 and Alipay RSA2 use."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify_rsa(key: rsa.RSAPublicKey, message: bytes, signature: str | None) -> None:
    try:
        raw = base64.b64decode(signature or "", validate=True)
        key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        raise BadSignature("The RSA signature does not match") from None


def wechat_message(*lines: str | bytes) -> bytes:
    """WeChat Pay v3's signed text: each part followed by a newline (a request signs method,
    URL, timestamp, nonce and body; a callback timestamp, nonce and body)."""
    return b"".join((line.encode() if isinstance(line, str) else line) + b"\n" for line in lines)


def wechat_decrypt(api_v3_key: str, nonce: str, associated_data: str, ciphertext: str) -> bytes:
    """Open a callback's ``resource``: AES-256-GCM under the merchant's 32-byte APIv3 key."""
    try:
        sealed = base64.b64decode(ciphertext, validate=True)
        return AESGCM(api_v3_key.encode()).decrypt(nonce.encode(), sealed, associated_data.encode())
    except (InvalidTag, binascii.Error, ValueError):
        raise MalformedCallback("The resource does not decrypt under the APIv3 key") from None


def alipay_content(params: Mapping[str, str], *, exclude: Iterable[str] = ("sign", "sign_type")) -> bytes:
    """Alipay's signed text: the non-empty parameters but the signature's own, sorted by name,
    joined as k=v&k=v with their raw (decoded) values."""
    skip = set(exclude)
    pairs = sorted((k, v) for k, v in params.items() if k not in skip and v != "")
    return "&".join(f"{k}={v}" for k, v in pairs).encode()
