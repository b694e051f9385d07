"""ARC Prize solver kit. The flow of a run is in solver/pipeline.py; one module per stage beside it."""
