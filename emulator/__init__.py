"""OCPP 1.6 / 2.0.1 charging station emulator, independent of the CSMS code."""

from emulator.fleet import Fleet, run_fleet
from emulator.station import StationSpec
from emulator.station_client import Station

__all__ = ["Fleet", "Station", "StationSpec", "run_fleet"]
