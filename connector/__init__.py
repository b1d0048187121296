"""Every edge of arcadence to the outside world that is not the web UI.

Storage, tokens, sync, outbox, dispatch, mail, jobs and the command line live here; the
platforms plug in through :mod:`connector.platform` and :mod:`connector.registry`.
"""
