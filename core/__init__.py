"""The pure domain of arcadence: records, policy, engine, explanations, metrics.

Nothing here reads the clock, touches the network or a database, or imports the rest of the
project (``tests/test_architecture.py`` keeps it that way).
"""
