"""rasa-sdk imports a package of this name, if there is one, when the action server starts
(``rasa_sdk.plugin``): Kefu's is the shared-secret check in ``actions.server_auth``."""

from actions.server_auth import init_hooks

__all__ = ["init_hooks"]
