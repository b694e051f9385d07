"""Program-synthesis fallback: a search over compositions of grid primitives, on CPU, within a budget.

    solve(task, cfg.dsl, deadline) -> candidates     the pipeline stage (solver/dsl/stage.py)
    solve_many(tasks, cfg.dsl, workers)             a process pool over many tasks (solver/dsl/pool.py)
    limit_memory(mb), warm_up()                      for any pool's worker initializer

prims/ (by kind, re-exported by grids.py) and objects.py hold the primitives, learn.py the parameters
inferred from train pairs, ops.py the op library, search.py the search; lists.py and list_expand.py lists
of pieces in it, pieces.py composition of partial programs, size.py the output size from content.
"""
from .pool import limit_memory, solve_many
from .stage import Outcome, is_fitting, solve, solve_with_stats, warm_up

__all__ = ["solve", "solve_with_stats", "solve_many", "limit_memory", "warm_up", "is_fitting", "Outcome"]
