"""`python -m devcluster`: the same command as `blackroad devcluster`."""

from devcluster.cli import devcluster

devcluster(prog_name="python -m devcluster")
