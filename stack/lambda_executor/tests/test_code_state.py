"""code_state.py: what tells the executor that a hot-reloading function's code changed since its process started.
Stdlib and pytest only."""

from __future__ import annotations

import os

from localstack_process_executor.code_state import code_state


def test_an_edit_an_added_file_and_a_removed_one_each_change_the_state(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "handler.py").write_text("A = 1\n")
    (tmp_path / "pkg" / "helper.py").write_text("B = 1\n")
    states = [code_state(tmp_path)]
    (tmp_path / "pkg" / "helper.py").write_text("B = 2\n")  # same size: the time tells
    os.utime(tmp_path / "pkg" / "helper.py", ns=(1, 1))
    states.append(code_state(tmp_path))
    (tmp_path / "pkg" / "more.py").write_text("")
    states.append(code_state(tmp_path))
    (tmp_path / "handler.py").unlink()
    states.append(code_state(tmp_path))
    assert len(set(states)) == len(states)


def test_bytecode_written_by_the_function_and_unchanged_code_keep_the_state(tmp_path):
    (tmp_path / "handler.py").write_text("A = 1\n")
    before = code_state(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "handler.cpython-313.pyc").write_bytes(b"\0")
    assert code_state(tmp_path) == before


def test_a_missing_folder_has_no_files(tmp_path):
    assert code_state(tmp_path / "gone") == frozenset()
