"""Benchmarks of the local-first payment processor (`make bench`, issue 7): every figure next to a baseline and a
ceiling measured in the same run, on the embedded stack. See bench/README.md."""
