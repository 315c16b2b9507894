"""Client for Rasa's REST channel. It tells apart 'not delivered' (safe to retry) from
'delivered, outcome unknown' (a retry could answer twice). Every call carries the shared
``?token=`` that Rasa requires (bot/rasa_run.py)."""

from __future__ import annotations

from typing import Any

import aiohttp


class RasaUnavailable(Exception):
    """Rasa could not be reached: the message was not delivered, a retry is safe."""


class RasaFailed(Exception):
    """Rasa got the message but failed or timed out: retrying could produce a second answer."""


class RasaClient:
    def __init__(self, base_url: str, timeout_s: float, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, connect=3)
        self._params = {"token": token}
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("RasaClient.start() was not awaited")
        return self._session

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        url = f"{self.base_url}/webhooks/rest/webhook"
        body = {"sender": sender, "message": text, "metadata": metadata}
        try:
            async with self.session.post(url, json=body, params=self._params) as resp:
                if resp.status >= 500:
                    raise RasaFailed(f"Rasa answered {resp.status}")
                if resp.status >= 400:
                    raise RasaFailed(f"Rasa refused the message: {resp.status}")
                data = await resp.json()
        except aiohttp.ClientConnectorError as e:
            raise RasaUnavailable(str(e)) from e
        except aiohttp.ClientResponseError as e:  # its repr has the URL, and so the token
            raise RasaFailed(f"{type(e).__name__}: {e.status} {e.message}") from e
        except (TimeoutError, aiohttp.ClientError) as e:
            raise RasaFailed(repr(e)) from e
        if not isinstance(data, list):
            raise RasaFailed("Rasa's answer is not a list of messages")
        return [m for m in data if isinstance(m, dict)]

    async def healthy(self) -> bool:
        try:
            async with self.session.get(f"{self.base_url}/", params=self._params,
                                        timeout=aiohttp.ClientTimeout(total=2)) as resp:
                return resp.status == 200
        except (TimeoutError, aiohttp.ClientError):
            return False
