"""The charger side: simulated charge points and vehicles speaking real OCPP to any central system.

`python -m core.simulator` runs the demo site's chargers; tests use `SimulatedChargePoint` in-process.
Nothing imports this package but its entry point and tests (ARCHITECTURE.md).
"""
