"""The private home of :mod:`bigplan.activity`: one module per concern.

``technology`` (the validated, immutable :class:`Technology`), ``choice``
(policy iteration under the non-substitution theorem), ``lp`` (the linear
programme with capacities and scarce resources: HiGHS, or a first-order PDLP
solver), ``proposals`` (proposals checked against capacity).
"""
