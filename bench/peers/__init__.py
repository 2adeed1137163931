"""Per-system drivers: one small script per peer (and one for our engine), each run with its
own interpreter, speaking the protocol in bench/peers/common.py."""
