"""The ``bigplan`` command's parts (private): one module per subcommand or concern.

:mod:`bigplan.cli` is the entry point and the public face; here live the parser
(``parser``), the exit-code table (``exitcodes``), safe output writing
(``output``), progress (``progress``), reading economies and plans
(``inputs``), resumable chunks, shards and their merge (``batch``), the default
BEA job (``default``), and the subcommands (``solve``, ``dynamic``, ``store``,
``info``, ``choose``).
"""
