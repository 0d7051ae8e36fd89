"""LocalStack Lambda runtime executor that runs Python functions as host processes (no Docker needed).

plugin.py     the entry point LocalStack finds (LAMBDA_RUNTIME_EXECUTOR=process)
executor.py   runs inside LocalStack: one child process per execution environment
runtimes.py   which interpreter runs a function (runtime venvs, aliases, fallback to a newer one)
debugger.py   which function waits for a debugpy client, on which port, with which debugpy
bootstrap.py  runs inside the child, on the function's runtime venv: imports the handler, runs invokes; also the
              warm templates that fork the children (bootstrap.py --template: a runtime's, and its layer templates)
templates.py  runs inside LocalStack: starts the templates, asks them for forks, learns how forks end and what
              they loaded (service models, layer modules) for the templates to preload
emf.py        turns the embedded-metric-format lines of an invoke's output into metrics, as CloudWatch Logs does
code_state.py what a hot-reloading function's code folder looks like now (compared at each invoke)
"""
