"""The central system around the charging domain: settings, database, bus, OCPP gateway, CLI."""
