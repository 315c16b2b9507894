"""Analytics for the dashboard: conversation metrics, topics."""
