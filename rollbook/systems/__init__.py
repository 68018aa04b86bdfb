"""One @deploy per system (the pipeline of DESIGN.md with that system's data and checks)."""
