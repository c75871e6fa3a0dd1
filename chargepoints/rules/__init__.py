"""Pure rules of the charging domain: no I/O, table-tested."""
