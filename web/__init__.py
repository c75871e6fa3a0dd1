"""HTTP edges: the driver and operator REST API, and (later) the operator portal."""
