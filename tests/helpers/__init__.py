"""Helpers of the test suites, in one place: `stack` (the running stack, deployments, the public API, waiting on a
condition), `handlers` (a function's handler under moto: loading it, its events and tables), `reliability` (the
reliability suite's load and figures), `faults` (breaking a deployed function's dependencies on purpose)."""
