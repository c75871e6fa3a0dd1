"""The charging domain: stations, EVSEs, connectors, id tokens, transactions and meter values."""
