"""Activity analysis: several production methods per product, the choice of technique, and capacity.

A :class:`Technology` lists, for every product, the processes that can make it
(Koopmans' activity analysis).  :func:`choose_technique` finds the
labour-minimising choice by policy iteration on static solves (the
non-substitution theorem: without capacity limits or joint production the
choice does not depend on final demand), at millions of products on any
backend.  :func:`plan_activities` solves the linear programme with capacities,
several scarce resources or joint production (HiGHS, or the first-order PDLP
solver of MPAX), and :func:`check_proposals` tells which proposals cannot all be
met with the capacity and labour there are, and what binds.

The work is done in the private package ``bigplan._activity`` (one module per
concern); this module is its public face.
"""

from __future__ import annotations

from ._activity.choice import ChoiceResult, choose_technique
from ._activity.lp import ActivityPlan, plan_activities
from ._activity.proposals import ProposalCheck, check_proposals
from ._activity.technology import Technology

__all__ = [
    "Technology",
    "choose_technique",
    "ChoiceResult",
    "plan_activities",
    "ActivityPlan",
    "check_proposals",
    "ProposalCheck",
]
