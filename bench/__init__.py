"""Load benchmarks, run on demand (``python -m bench.ocpp_load``), never part of the test suite.

They talk to servers over sockets only, so they import nothing from the server's packages: what
is measured is what a charger would see.
"""
