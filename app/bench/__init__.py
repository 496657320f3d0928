"""Benchmarks of the whole application (the real window and everything under it).

The top layer: a bench here may build the app with :func:`app.bootstrap.assemble.build`.
"""
