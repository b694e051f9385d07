"""The DSL's grid primitives by kind; solver/dsl/grids.py re-exports them and says which module holds which."""
