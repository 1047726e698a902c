"""`make bench`: the figures the issues ask for, measured in one run, printed and written to bench/results.json."""
