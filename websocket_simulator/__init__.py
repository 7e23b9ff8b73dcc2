"""Standalone WebSocket price feed (server.py) and alerting listener (client.py)."""
