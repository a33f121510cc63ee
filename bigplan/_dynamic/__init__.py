"""Implementation of :mod:`bigplan.dynamic` (private; import from ``bigplan.dynamic``).

Data flow, one module per concern::

    plan() arguments --problem.py--> PlanProblem (frozen, validated; planner.py runs it)
        --capacity.py | exact.py | lp.py--> PlanOutcome (output, capacity, investment, evidence)
        --result.py--> DynamicPlan (views, bottlenecks, report)

    growth.py      max_growth_rate: bracketing on the certified bounds of bigplan.spectral
    expectations.py  balanced capacity expectations (shifted economies A + B diag(g + delta))
    balanced.py    balanced proposals (one growth rate, one investment share)
    frontier.py    frontier, compare, plot_frontier
    proposals.py   proposals from the present: working time, level fitted to labour, one plan each
    report.py      PlanReport: the five items (a)-(e) as tables and text
    labour.py      labour supply / workers per kind, aligned by labour kind name; units
    common.py      capital checks, shifted economies, rank-reduced block solves and their tally
"""
