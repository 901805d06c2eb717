"""`python -m pipeline.cli`: the `capcode` command, as tests and benchmarks start it."""

from . import main

if __name__ == "__main__":
    main()
