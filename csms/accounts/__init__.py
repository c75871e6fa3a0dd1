"""Accounts: tenants now; users, roles, login, vehicles and invitations later."""
