"""The top layer: the only code that knows every other layer.

:mod:`.assemble` builds services, state, controllers and the window and wires them;
:mod:`.cli` is the command line; :mod:`.self_test` checks an install headless.
"""
