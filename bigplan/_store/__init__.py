"""The store's parts, one concern per module, behind the facade :class:`bigplan.store.Store`.

==================  ==========================================================
``objects``         immutable ``.npy`` array files: SHA-256 names, atomic
                    durable writes, verified reads, labels as plain arrays
``ledger``          the SQLite ledger: schema, connection, read and write
                    transactions, busy handling, the marker file, gc/verify
``state``           the in-memory state of one version, edited through
                    :mod:`bigplan._sparse`; applying deltas; certifying
``snapshots``       snapshots, replay of the ledger, the cache of states
``changes``         public change sets -> validated deltas
``history``         committing versions; versions, changes, diff, roll-back
``stocktaking``     counts, capacities, flows, depreciation, inventory
``plans``           stored plans, their outputs (one block object per re-plan,
                    kept in memory between calls), sectors, re-planning
``impact``          what a re-plan means: labour needed, labour values that
                    moved, recorded capacities below a plan
``dynamic_plans``   stored inputs of multi-period plans, re-run per version
``replanning``      every commit re-plans; the re-plan entry point; export
==================  ==========================================================

Data flows one way: ``objects`` and ``state`` know nothing of the others;
``ledger`` knows ``objects``; ``snapshots`` knows both; ``changes`` and
``history`` build on those; ``stocktaking`` and ``plans`` on ``history``;
``replanning`` on ``plans`` and ``dynamic_plans``.
"""
