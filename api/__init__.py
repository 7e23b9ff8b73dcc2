"""What every app's API shares: authentication, permissions, parsers, renderers, throttles,
pagination and the one exception handler."""
