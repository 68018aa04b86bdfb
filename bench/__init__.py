"""``make bench``: how rollback time and cost grow with the number of hosts (see bench/run.py)."""
