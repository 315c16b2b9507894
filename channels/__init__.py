"""Channel adapters: one per platform, each behind the ``ChannelAdapter`` interface."""
