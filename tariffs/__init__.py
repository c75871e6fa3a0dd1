"""Pricing: time-of-use tariffs, exact decimal session prices and charge detail records."""
