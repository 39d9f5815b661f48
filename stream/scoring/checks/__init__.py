"""The measurements behind the plausibility checks, one family per module.

``rhythm`` (cadence, steadiness, repeats), ``stride`` (metres per step) and ``movement``
(vehicles, jumps, metres without steps) turn per-minute rows into ratios to physical limits;
``stream.scoring.plausibility`` runs them over a batch of windows and makes verdicts.
"""
