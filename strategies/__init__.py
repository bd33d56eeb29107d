"""Example strategies shipped with the harness (user code: they import only ``harness``)."""
