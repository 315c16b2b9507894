"""WeChat "safe mode" message crypto, the same scheme for Official Accounts and WeCom.

Wire format (the platform's own sample code)::

    key        = base64decode(EncodingAESKey + "=")        # 43 characters -> 32 bytes
    ciphertext = AES-256-CBC(key, iv=key[:16],
                             pkcs7_32(random16 + len_be32(msg) + msg + receive_id))
    Encrypt    = base64(ciphertext)
    signature  = sha1(sorted(token, timestamp, nonce[, Encrypt]) joined)

``receive_id`` is the AppID (Official Account) or the CorpID (WeCom). CBC alone is malleable
and padding errors leak, so callers must check ``msg_signature`` (which covers the ciphertext)
BEFORE decrypting: then only the platform can get anything decrypted here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not to the AES block size
_AES_BLOCK = 16
_RANDOM = 16
_LENGTH = 4


class CryptoError(ValueError):
    """The ciphertext is not a well-formed WeChat message."""


class ReceiveIdMismatch(CryptoError):
    """The message decrypts, but was encrypted for another AppID/CorpID."""


def signature(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    """SHA-1 hex of the sorted concatenation (``msg_signature`` adds the Encrypt text)."""
    parts = sorted(p.encode() for p in (token, timestamp, nonce, *extra))
    return hashlib.sha1(b"".join(parts)).hexdigest()


def check_signature(given: str | None, token: str, timestamp: str, nonce: str,
                    *extra: str) -> bool:
    if not given:
        return False
    expected = signature(token, timestamp, nonce, *extra)
    # bytes: compare_digest refuses non-ASCII str, and the query value is attacker-controlled
    return hmac.compare_digest(given.encode(), expected.encode())


def decode_aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise CryptoError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as e:
        raise CryptoError("EncodingAESKey is not base64") from e
    if len(key) != 32:
        raise CryptoError("EncodingAESKey must decode to 32 bytes")
    return key


def pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK  # 1..32: a full block of padding when already aligned
    return data + bytes([n]) * n


def unpad(data: bytes) -> bytes:
    n = data[-1] if data else 0
    if not 1 <= n <= BLOCK or n > len(data) or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad padding")
    return data[:-n]


class MessageCrypto:
    """Encrypts and decrypts message bodies for one app (its AppID or CorpID)."""

    def __init__(self, encoding_aes_key: str, receive_id: str) -> None:
        if not receive_id:
            raise CryptoError("receive id (AppID/CorpID) is required")
        self._key = decode_aes_key(encoding_aes_key)
        self._receive_id = receive_id.encode()

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:_AES_BLOCK]))

    def encrypt(self, plain: bytes) -> str:
        body = os.urandom(_RANDOM) + len(plain).to_bytes(_LENGTH, "big") + plain
        enc = self._cipher().encryptor()
        data = enc.update(pad(body + self._receive_id)) + enc.finalize()
        return base64.b64encode(data).decode("ascii")

    def decrypt(self, b64: str) -> bytes:
        try:
            raw = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError) as e:
            raise CryptoError("ciphertext is not base64") from e
        if not raw or len(raw) % _AES_BLOCK:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        dec = self._cipher().decryptor()
        body = unpad(dec.update(raw) + dec.finalize())
        if len(body) < _RANDOM + _LENGTH:
            raise CryptoError("plaintext is too short")
        start = _RANDOM + _LENGTH
        n = int.from_bytes(body[_RANDOM:start], "big")
        if n > len(body) - start:
            raise CryptoError("declared message length exceeds the plaintext")
        message, receive_id = body[start:start + n], body[start + n:]
        if not hmac.compare_digest(receive_id, self._receive_id):
            raise ReceiveIdMismatch("message was encrypted for another AppID/CorpID")
        return message
