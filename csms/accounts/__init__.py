"""Accounts: tenants, users and their roles, log-in and tokens, and the driver's profile."""
