"""Warm templates (templates.py, bootstrap.py --template) driven as executor.py drives them: environments forked from
one template each get their own environment variables, path, modules and files, report their exit, and end with
it. Stdlib and pytest only: no LocalStack."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from localstack_process_executor import bootstrap, templates

SPAWNER = ThreadPoolExecutor(max_workers=1)


class Forked:
    """One environment forked from `template`, with `source` as handler.py in its own code folder and `layers` after
    it on its path, as executor.py forks one. `hello` and `replies` keep what it reported."""

    def __init__(self, template: templates.Template, code: Path, source: str, files=None, layers=(), **env: str):
        code.mkdir()
        (code / "handler.py").write_text(textwrap.dedent(source))
        for name, text in (files or {}).items():
            (code / name).write_text(text)
        self.log = tempfile.TemporaryFile()
        self.channel, theirs = socket.socketpair()
        self.env = {"PATH": os.environ["PATH"], "_HANDLER": "handler.handler", **env}
        self.env["PYTHONPATH"] = os.pathsep.join(map(str, [code, *layers]))
        self.process = template.fork(self.env, str(code), theirs, self.log.fileno(), list(map(str, layers)))
        theirs.close()
        self.reader = self.channel.makefile("rb")
        self.channel.settimeout(10)
        self.hello = json.loads(self.reader.readline())
        assert self.hello["ready"] is True and self.hello["debugger"] is False, self.hello
        self.replies: list[dict] = []

    def invoke(self, event: object) -> object:
        request = {"id": "r", "arn": "arn", "payload": json.dumps(event), "trace": "", "deadline_ms": 1e15}
        self.channel.sendall(json.dumps(request).encode() + b"\n")
        line = self.reader.readline()
        if not line:
            return None
        self.replies.append(json.loads(line))
        return json.loads(self.replies[-1]["body"])

    def output(self) -> str:
        return os.pread(self.log.fileno(), 1 << 20, 0).decode()


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


@pytest.fixture
def template():
    started = templates.Template.start(Path(sys.executable), bootstrap.__file__, SPAWNER)
    yield started
    started.stop()


MODULE_STATE = """
    import os, sys
    import shared  # a module of the same name in each function's code
    calls = []
    def handler(event, context):
        calls.append(1)
        os.environ["SET_BY_" + os.environ["NAME"]] = "1"
        return {"env": sorted(k for k in os.environ if k.startswith(("NAME", "SET_BY_"))), "cwd": os.getcwd(),
                "path0": sys.path[0], "shared": shared.WHO, "calls": len(calls), "pid": os.getpid(),
                "boto3_loaded": "boto3" in sys.modules, "fds": sorted(os.listdir("/proc/self/fd"))}
"""


def test_forks_of_one_template_share_no_state(template, tmp_path):
    forks = []
    for name in ("a", "b"):
        forks.append(Forked(template, tmp_path / name, MODULE_STATE, {"shared.py": f"WHO = {name!r}\n"}, NAME=name))
    a, b = (fork.invoke({}) for fork in forks)
    assert a["env"] == ["NAME", "SET_BY_a"] and b["env"] == ["NAME", "SET_BY_b"]  # nothing of the other's
    assert (a["cwd"], a["path0"], a["shared"]) == (str(tmp_path / "a"),) * 2 + ("a",)
    assert (b["cwd"], b["path0"], b["shared"]) == (str(tmp_path / "b"),) * 2 + ("b",)
    assert a["calls"] == b["calls"] == 1 and a["pid"] != b["pid"]
    assert a["fds"] == b["fds"]  # no descriptor of the template's or of another environment's
    assert set(a["fds"]) <= {"0", "1", "2", "3", a["fds"][-1]}, a["fds"]
    assert forks[0].invoke({})["calls"] == 2  # warm: the same process again
    assert a["boto3_loaded"] == ("boto3" in template.preloaded)


def test_output_goes_to_the_environments_log(template, tmp_path):
    fork = Forked(template, tmp_path / "f", 'def handler(e, c):\n    print("hello from", e)\n    return 1\n')
    assert fork.invoke("x") == 1
    assert "hello from x" in fork.output()


def test_an_ended_environment_reports_its_exit_and_a_killed_one_its_signal(template, tmp_path):
    exiting = Forked(template, tmp_path / "e", "import os\ndef handler(e, c):\n    os._exit(3)\n")
    assert exiting.invoke({}) is None  # its socket closed
    assert exiting.process.wait() == 3
    running = Forked(template, tmp_path / "r", "def handler(e, c):\n    return 1\n")
    assert running.process.poll() is None
    os.killpg(running.process.pid, signal.SIGKILL)  # as executor._kill does: its own group
    assert running.process.wait() == -signal.SIGKILL


def test_a_dead_templates_environments_end_and_the_next_start_gets_a_new_template(tmp_path):
    first = templates.template_for(Path(sys.executable), bootstrap.__file__, SPAWNER)
    fork = Forked(first, tmp_path / "f", "def handler(e, c):\n    return 1\n")
    os.killpg(first._process.pid, signal.SIGKILL)
    assert fork.process.wait() == -signal.SIGTERM  # its parent-death signal
    deadline = time.monotonic() + 10
    while pid_exists(fork.process.pid):  # really gone, not only reported so
        assert time.monotonic() < deadline, "the environment outlived its template"
        time.sleep(0.05)
    second = templates.template_for(Path(sys.executable), bootstrap.__file__, SPAWNER)
    assert second is not first and second.alive
    assert Forked(second, tmp_path / "g", "def handler(e, c):\n    return 2\n").invoke({}) == 2
    second.stop()


def test_a_function_that_brings_a_preloaded_package_is_not_forked(tmp_path):
    (tmp_path / "boto3").mkdir()
    assert templates.shadowed(["boto3"], [str(tmp_path)]) == str(tmp_path / "boto3")
    assert templates.shadowed(["boto3"], [str(tmp_path / "other")]) is None
    assert not templates.forkable({"PYTHONWARNINGS": "error"}) and templates.forkable({"PYTHONPATH": "/x"})


@pytest.fixture
def runtime_template():
    """The runtime's template through the registry executor.py uses, with nothing learned; all stopped after."""
    templates._lessons.clear()
    templates._models.clear()
    yield templates.template_for(Path(sys.executable), bootstrap.__file__, SPAWNER)
    for started in templates._templates.values():
        started.stop()
    templates._templates.clear()
    templates._lessons.clear()
    templates._models.clear()


CREATES_A_CLIENT = """
    import sys
    import boto3
    def handler(event, context):
        asked = sys.modules["__main__"]._LOADER.asked  # the shared loader's loads: the template's, then this fork's
        loaded_before = ["load_service_model", "sqs", "service-2", None] in asked
        boto3.client("sqs", region_name="us-east-1", endpoint_url="http://127.0.0.1:9", aws_access_key_id="k",
                     aws_secret_access_key="s")
        return {"loaded_before": loaded_before}
"""


def test_the_models_a_fork_loaded_are_loaded_by_the_template_before_the_next_fork(runtime_template, tmp_path):
    first = Forked(runtime_template, tmp_path / "a", CREATES_A_CLIENT)
    assert first.invoke({}) == {"loaded_before": False}
    reported = first.replies[-1]["models"]
    assert ["load_service_model", "sqs", "service-2", None] in reported
    assert first.invoke({}) == {"loaded_before": True} and "models" not in first.replies[-1]  # reported once
    templates.learn_models(Path(sys.executable), reported)
    second = Forked(runtime_template, tmp_path / "b", CREATES_A_CLIENT)
    assert second.invoke({}) == {"loaded_before": True}
    assert "models" not in second.replies[-1]  # nothing new to report


def layer_folder(tmp_path: Path, files: dict[str, str]) -> Path:
    """A layer's folder on a function's path, holding these {file name: source} modules."""
    layer = tmp_path / "layer"
    layer.mkdir()
    for name, text in files.items():
        (layer / name).write_text(text)
    return layer


LAYER = {
    "pure_mod.py": "STATE = []\n",
    "shared_mod.py": "import os\nRUNTIME = os.environ.get('AWS_EXECUTION_ENV')\n",
    "own_mod.py": "import os\nSETTING = os.environ.get('FUNCTION_SETTING')\n",
    # Read nothing themselves, but import own_mod, which the handler had imported first: the fork sees an import
    # statement (so late_mod is left out at once); importlib's call it does not (so the template refuses sly_mod).
    "late_mod.py": "import own_mod\n",
    "sly_mod.py": "import importlib\nimportlib.import_module('own_mod')\n",
}
USES_THE_LAYER = """
    import sys
    OURS = ("pure_mod", "shared_mod", "own_mod", "late_mod", "sly_mod")
    PRELOADED = sorted(name for name in OURS if name in sys.modules)
    import own_mod, pure_mod, shared_mod, late_mod, sly_mod
    def handler(event, context):
        pure_mod.STATE.append(1)
        return {"preloaded": PRELOADED, "setting": own_mod.SETTING, "runtime": shared_mod.RUNTIME,
                "state": len(pure_mod.STATE), "pure_mod": pure_mod.__file__}
"""


def test_a_layer_template_preloads_what_a_fork_imported_from_its_layers_and_nothing_of_another_function(
    runtime_template, tmp_path
):
    layer = layer_folder(tmp_path, LAYER)
    interpreter, layers, runtime = Path(sys.executable), (str(layer),), "AWS_Lambda_python3.x"
    teacher = Forked(
        runtime_template,
        tmp_path / "a",
        USES_THE_LAYER,
        layers=[layer],
        FUNCTION_SETTING="a",
        AWS_EXECUTION_ENV=runtime,
    )
    assert teacher.invoke({})["preloaded"] == []
    assert {module: (reads, imported) for module, reads, imported in teacher.hello["layer_modules"]} == {
        "own_mod": (["FUNCTION_SETTING"], ["os"]),
        "pure_mod": ([], []),
        "shared_mod": (["AWS_EXECUTION_ENV"], ["os"]),
        "late_mod": ([], ["own_mod"]),
        "sly_mod": ([], ["importlib"]),
    }
    templates.learn(interpreter, layers, teacher.hello["layer_modules"], teacher.env)
    assert templates._lessons[(interpreter, layers)].modules == ["pure_mod", "shared_mod", "sly_mod"]
    env_b = {"FUNCTION_SETTING": "b", "AWS_EXECUTION_ENV": runtime}
    # Importing sly_mod in the template reads FUNCTION_SETTING: refused, and left out of the next try.
    assert templates.layer_template_for(runtime_template, layers, env_b, str(tmp_path / "b")) is None
    assert templates._lessons[(interpreter, layers)].modules == ["pure_mod", "shared_mod"]
    layered = templates.layer_template_for(runtime_template, layers, env_b, str(tmp_path / "b"))
    assert layered is not None and {"pure_mod", "shared_mod"} <= set(layered.preloaded)

    b = Forked(layered, tmp_path / "b", USES_THE_LAYER, layers=[layer], **env_b)
    c = Forked(layered, tmp_path / "c", USES_THE_LAYER, layers=[layer], FUNCTION_SETTING="c", AWS_EXECUTION_ENV=runtime)
    first_b, second_b, first_c = b.invoke({}), b.invoke({}), c.invoke({})
    assert first_b["preloaded"] == ["pure_mod", "shared_mod"]  # the others: each function's own import
    assert (first_b["setting"], first_c["setting"]) == ("b", "c") and first_b["runtime"] == runtime
    assert (second_b["state"], first_c["state"]) == (2, 1)  # a preloaded module's state is each environment's own
    assert first_b["pure_mod"] == str(layer / "pure_mod.py")
    # Not from the layer template: another value of a variable its imports read; code that brings a layer module.
    other_runtime = {"FUNCTION_SETTING": "d", "AWS_EXECUTION_ENV": "AWS_Lambda_other"}
    assert templates.layer_template_for(runtime_template, layers, other_runtime, str(tmp_path / "d")) is None
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "pure_mod.py").write_text("STATE = None\n")
    assert templates.layer_template_for(runtime_template, layers, env_b, str(tmp_path / "e")) is None
    assert templates.layer_template_for(runtime_template, layers, env_b, str(tmp_path / "b")) is layered

    # A layer template that dies takes its forks with it (their parent-death signal) and is replaced at the next start.
    os.killpg(layered._process.pid, signal.SIGKILL)
    assert b.process.wait() == -signal.SIGTERM
    replaced = templates.layer_template_for(runtime_template, layers, env_b, str(tmp_path / "b"))
    assert replaced is not None and replaced is not layered and replaced.alive
    assert Forked(replaced, tmp_path / "f", USES_THE_LAYER, layers=[layer], **env_b).invoke({})["setting"] == "b"


CREATES_A_RESOURCE = """
    import boto3
    def handler(event, context):
        for _ in range(3):  # each Session adds boto3's models to the loader's paths: once is enough
            table = boto3.resource("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                                   aws_access_key_id="k", aws_secret_access_key="s").Table("t")
        return {"table": table.name, "paths": len(boto3.Session()._loader.search_paths)}
"""


def test_a_fork_builds_boto3_resources_from_the_models_its_template_loaded(runtime_template, tmp_path):
    first = Forked(runtime_template, tmp_path / "a", CREATES_A_RESOURCE)
    assert first.invoke({})["table"] == "t"
    assert ["load_service_model", "dynamodb", "resources-1", None] in first.replies[-1]["models"]
    templates.learn_models(Path(sys.executable), first.replies[-1]["models"])
    second = Forked(runtime_template, tmp_path / "b", CREATES_A_RESOURCE)
    assert second.invoke({}) == first.invoke({})


@pytest.fixture
def started_beside_a_settings_file(tmp_path, monkeypatch):
    """The templates start in a folder that has a settings.txt too (as LocalStack's folder could)."""
    (tmp_path / "localstack").mkdir()
    (tmp_path / "localstack" / "settings.txt").write_text("LocalStack's")
    monkeypatch.chdir(tmp_path / "localstack")


def test_a_layer_module_that_reads_a_file_of_the_function_at_import_is_not_preloaded(
    started_beside_a_settings_file, runtime_template, tmp_path
):
    reads_a_file = "VALUE = open('settings.txt').read()  # the function's, from its folder\n"
    layer = layer_folder(tmp_path, {"settings_mod.py": reads_a_file, "pure_mod.py": "STATE = []\n"})
    source = "import pure_mod, settings_mod\ndef handler(event, context):\n    return settings_mod.VALUE\n"
    interpreter, layers = Path(sys.executable), (str(layer),)
    teacher = Forked(runtime_template, tmp_path / "a", source, {"settings.txt": "a"}, layers=[layer])
    templates.learn(interpreter, layers, teacher.hello["layer_modules"], teacher.env)
    assert templates._lessons[(interpreter, layers)].modules == ["pure_mod", "settings_mod"]  # it read no variable
    assert templates.layer_template_for(runtime_template, layers, {}, str(tmp_path / "b")) is None  # refused
    assert templates._lessons[(interpreter, layers)].modules == ["pure_mod"]
    layered = templates.layer_template_for(runtime_template, layers, {}, str(tmp_path / "b"))
    assert Forked(layered, tmp_path / "b", source, {"settings.txt": "b"}, layers=[layer]).invoke({}) == "b"


def test_a_layer_template_whose_environments_all_ended_long_ago_is_stopped(runtime_template, tmp_path, monkeypatch):
    layer = layer_folder(tmp_path, {"pure_mod.py": "STATE = []\n"})
    source = "import pure_mod\ndef handler(event, context):\n    return 1\n"
    interpreter, layers = Path(sys.executable), (str(layer),)
    teacher = Forked(runtime_template, tmp_path / "a", source, layers=[layer])
    templates.learn(interpreter, layers, teacher.hello["layer_modules"], teacher.env)
    layered = templates.layer_template_for(runtime_template, layers, {}, str(tmp_path / "b"))
    running = Forked(layered, tmp_path / "b", source, layers=[layer])
    monkeypatch.setattr(templates, "LAYER_TEMPLATE_IDLE_S", 0.0)
    assert templates.layer_template_for(runtime_template, layers, {}, str(tmp_path / "c")) is layered  # one runs
    os.killpg(running.process.pid, signal.SIGKILL)
    running.process.wait()
    replaced = templates.layer_template_for(runtime_template, layers, {}, str(tmp_path / "c"))
    assert not layered.alive and replaced is not None and replaced is not layered
    assert Forked(replaced, tmp_path / "c", source, layers=[layer]).invoke({}) == 1
