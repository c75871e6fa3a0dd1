"""The OCPP gateway: WebSocket endpoint, version adapters and live connections."""
