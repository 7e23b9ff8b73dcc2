"""TradePulse engine: framework-free trading logic shared by the Django apps and the Lambda."""
