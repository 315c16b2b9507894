"""Business services over the database; used by the hub and by the action server."""
