"""The rule engine: pack loading, the condition language, derived views and ``evaluate``.

``load_pack(name_or_path, params_file=None) -> Pack`` and
``evaluate(tables, pack, period, as_of, calendar) -> EvalResult`` (docs/architecture.md "Evaluate").
"""
from .evaluate import evaluate
from .pack import Pack, Rule, load_pack

__all__ = ["Pack", "Rule", "evaluate", "load_pack"]
