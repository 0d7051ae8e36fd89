"""Checks terraform/ against the hashicorp/aws schemas users install (newest 5.x and 6.x), offline.

    python stack/terraform/provider_schema.py install          # fetch the pinned schemas (stack/setup.sh runs it)
    python stack/terraform/provider_schema.py check [DIR]      # DIR defaults to terraform/; exit 1 on any problem

Our machines can install only hashicorp/aws 3.39, so `terraform validate` proves the modules against 3.39 alone.
The full schemas of current releases are on PyPI in the CDKTF prebuilt bindings, `cdktf-cdktf-provider-aws` (major
19 = provider 5.x, 21 = provider 6.x): each wheel holds a jsii assembly, a JSON description of every resource and
data source. Its doc strings link to the Terraform registry page of each argument (`.../docs/resources/
lambda_function#function_name ...`), which gives the Terraform names and the provider version; a struct property's
`optional` flag says whether an argument or nested block is required; a class's getters are what a reference may
read. `provider-schemas.txt` pins the two wheels (with their SHA-256); `install` keeps only the JSON, in the ignored
`.stack/provider-schemas/`, where each schema read from it is kept too (load_schema).

What `check` proves, per .tf file (modules included) and per schema: every `resource`/`data` type exists; every
argument and nested block (plain or `dynamic`) is known, is not read-only, and is written as the argument or block
it is; every required argument and block is there; every reference `aws_x.name.attr` / `data.aws_x.name.attr`
(in any expression: interpolations, `for` expressions, heredocs, outputs) reads an attribute that exists, down
through nested blocks. Not proven: values (e.g. which Lambda runtimes a release accepts), types, and rules between
arguments (conflicts, exactly-one-of).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import hcl2
from lark import Token, Tree

REPO = Path(__file__).resolve().parents[2]
PINS = Path(__file__).resolve().parent / "provider-schemas.txt"
SCHEMA_DIR = REPO / ".stack" / "provider-schemas"
TERRAFORM_DIR = REPO / "terraform"
GENERATED = {"localstack_providers_override.tf", "offline_toolchain_override.tf"}  # written by deploy.py, not code

# Terraform's own arguments and blocks, allowed in any resource or data block (`timeouts` is in the schemas).
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider"}
META_BLOCKS = {"lifecycle", "provisioner", "connection"}

# {@link https://registry.terraform.io/providers/hashicorp/aws/5.99.1/docs/resources/lambda_function#runtime ...}
REGISTRY_LINK = re.compile(
    r"registry\.terraform\.io/providers/hashicorp/aws/(?P<version>[^/]+)/docs/"
    r"(?P<kind>resources|data-sources)/(?P<type>\w+)(?:#(?P<argument>\w+))?"
)
PIN = re.compile(r"^cdktf-cdktf-provider-aws==(?P<version>[\w.]+) ")


class SchemaError(RuntimeError):
    pass


@dataclass
class Block:
    """What may be written in a resource, data source or nested block, and what a reference may read from it."""

    arguments: set[str] = field(default_factory=set)
    blocks: dict[str, Block] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)  # arguments and blocks that must be written
    # Readable attributes by attribute_key(name), each with what lies below it (None: a plain value).
    attributes: dict[str, Block | None] = field(default_factory=dict)


@dataclass
class Schema:
    version: str  # of hashicorp/aws, e.g. "5.99.1"
    resources: dict[str, Block]
    data_sources: dict[str, Block]


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    version: str
    reason: str

    def __str__(self) -> str:
        try:
            shown = self.path.relative_to(REPO)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}: hashicorp/aws {self.version}: {self.reason}"


# --- the schemas: pins, download, jsii assembly -> Schema -----------------------------------------------------


def pins() -> dict[str, str]:
    """Each cdktf-cdktf-provider-aws version in provider-schemas.txt, with its requirement line."""
    return {match["version"]: line for line in PINS.read_text().splitlines() if (match := PIN.match(line))}


def assembly_path(version: str) -> Path:
    return SCHEMA_DIR / f"provider-aws@{version}.jsii"


def install() -> list[str]:
    """Download each pinned wheel that is not extracted yet (hash-checked by pip), keep only its assembly JSON."""
    for unpinned in set(SCHEMA_DIR.glob("provider-aws@*.jsii")) - {assembly_path(version) for version in pins()}:
        unpinned.unlink()
        unpinned.with_name(unpinned.name + ".schema.pickle").unlink(missing_ok=True)
    fetched = []
    for version, requirement in pins().items():
        if assembly_path(version).is_file():
            continue
        with tempfile.TemporaryDirectory() as download:  # the wheel goes with it
            # One requirement file per pin: pip would refuse two versions of one package in one file.
            requirements = Path(download) / "requirements.txt"
            requirements.write_text(requirement + "\n")
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "-q"]
            result = subprocess.run([*pip, "-r", requirements, "-d", download], capture_output=True, text=True)
            if result.returncode != 0:
                raise SchemaError(f"pip download of {requirement.split()[0]} failed:\n{result.stderr}")
            extract_assembly(next(Path(download).glob("*.whl")), assembly_path(version))
        load_schema(assembly_path(version))  # parsed once here, at set-up, rather than in the first test run
        fetched.append(version)
    return fetched


def extract_assembly(wheel: Path, target: Path) -> None:
    """wheel -> _jsii/provider-aws@V.jsii.tgz -> package/.jsii, written to target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(wheel) as archive:
        bundle = next(name for name in archive.namelist() if name.endswith(".jsii.tgz"))
        with archive.open(bundle) as packed, tarfile.open(fileobj=packed, mode="r|gz") as tar:
            for member in tar:
                if member.name == "package/.jsii":
                    with tar.extractfile(member) as source, partial.open("wb") as copy:
                        shutil.copyfileobj(source, copy)
                    partial.replace(target)
                    return
    raise SchemaError(f"{wheel.name} holds no jsii assembly")


def load_pinned_schemas() -> list[Schema]:
    paths = [assembly_path(version) for version in pins()]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise SchemaError(f"missing {', '.join(missing)}: run `make setup` (or `{Path(__file__).name} install`)")
    return [load_schema(path) for path in paths]


def load_schema(path: Path) -> Schema:
    """An assembly's Schema, kept beside it (a pickle) for as long as the assembly and this file's code are the same:
    parsing >100 MB of JSON costs 2-3 CPU-s an assembly, in every process that checks the modules (0.2 s from here)."""
    cache = path.with_name(path.name + ".schema.pickle")
    assembly = path.stat()
    key = hashlib.sha256(Path(__file__).read_bytes() + f"{assembly.st_size}:{assembly.st_mtime_ns}".encode())
    with contextlib.suppress(OSError, EOFError, ImportError, AttributeError, ValueError, pickle.UnpicklingError):
        kept_key, schema = pickle.loads(cache.read_bytes())
        if kept_key == key.hexdigest():
            return schema
    schema = parse_assembly(path)
    partial = cache.with_name(f"{cache.name}.{os.getpid()}.partial")  # test workers may write it at the same time
    partial.write_bytes(pickle.dumps((key.hexdigest(), schema), protocol=pickle.HIGHEST_PROTOCOL))
    partial.replace(cache)
    return schema


def parse_assembly(path: Path) -> Schema:
    types = json.loads(path.read_bytes())["types"]
    renamed = renamed_properties(types)
    configs: dict[str, Block] = {}  # built once per struct
    outputs: dict[str, Block] = {}  # and per OutputReference class
    schema = Schema(version="", resources={}, data_sources={})
    for definition in types.values():
        if definition.get("base") not in ("cdktf.TerraformResource", "cdktf.TerraformDataSource"):
            continue
        link = REGISTRY_LINK.search(definition["docs"]["summary"])
        schema.version = link["version"]  # every link names the same release
        config = next(p["type"]["fqn"] for p in definition["initializer"]["parameters"] if p["name"] == "config")
        block = config_block(types, config, configs)
        block.attributes = readable_attributes(types, definition, renamed, outputs)
        table = schema.resources if link["kind"] == "resources" else schema.data_sources
        table[f"aws_{link['type']}"] = block
    return schema


def argument_name(prop: dict) -> str:
    """A struct property's Terraform name, from its registry link (jsii names are camelCase, some renamed)."""
    docs = prop.get("docs", {})
    link = REGISTRY_LINK.search(docs.get("summary", "") + docs.get("remarks", ""))
    if link and link["argument"]:
        return link["argument"]
    return re.sub(r"[A-Z]", lambda upper: "_" + upper.group().lower(), prop["name"])


def struct_of(types: dict, type_ref: dict) -> str | None:
    """The struct (jsii datatype) a property holds, alone, in a list or in a union with IResolvable; else None."""
    if "fqn" in type_ref:
        found = types.get(type_ref["fqn"], {})
        return type_ref["fqn"] if found.get("datatype") else None
    if "collection" in type_ref:
        return struct_of(types, type_ref["collection"]["elementtype"])
    for member in type_ref.get("union", {}).get("types", []):
        if struct := struct_of(types, member):
            return struct
    return None


def config_block(types: dict, fqn: str, built: dict[str, Block]) -> Block:
    if fqn in built:
        return built[fqn]
    block = built[fqn] = Block()
    for prop in types[fqn].get("properties", []):
        name = argument_name(prop)
        struct = struct_of(types, prop["type"])
        # "x block." marks a nested block; other struct-typed properties are object arguments (`x = { ... }`).
        if struct and prop.get("docs", {}).get("summary", "").endswith(" block."):
            block.blocks[name] = config_block(types, struct, built)
        else:
            block.arguments.add(name)
        if not prop.get("optional"):
            block.required.add(name)
    return block


def renamed_properties(types: dict) -> dict[str, str]:
    """jsii names that are not the camelCase of their Terraform name (`selfAttribute` -> `self`, `address1` ...)."""
    renamed = {}
    structs = (definition for definition in types.values() if definition.get("datatype"))
    for struct in structs:
        for prop in struct.get("properties", []):
            name = argument_name(prop)
            if attribute_key(name) != attribute_key(prop["name"]):
                renamed[prop["name"]] = name
    return renamed


def attribute_key(name: str) -> str:
    """Compares a Terraform name with a jsii getter: `invoke_url` and `invokeUrl` are both `invokeurl`."""
    return name.replace("_", "").lower()


def readable_attributes(types: dict, definition: dict, renamed: dict, seen: dict) -> dict[str, Block | None]:
    """Getters of a resource class or of a nested OutputReference, each with the attributes below it."""
    attributes: dict[str, Block | None] = {}
    for prop in definition.get("properties", []):
        name = prop["name"]
        if prop.get("static") or name.endswith("Input") or name == "internalValue":
            continue
        attributes[attribute_key(renamed.get(name, name))] = nested_attributes(types, prop["type"], renamed, seen)
    return attributes


def nested_attributes(types: dict, type_ref: dict, renamed: dict, seen: dict) -> Block | None:
    """For an OutputReference (object), List or Map class: its element's attributes; for a plain value: None."""
    fqn = type_ref.get("fqn", "")
    definition = types.get(fqn)
    if definition is None or definition.get("kind") != "class":
        return None
    if definition.get("base") in ("cdktf.ComplexList", "cdktf.ComplexMap"):
        element = next(m["returns"]["type"] for m in definition.get("methods", []) if m["name"] == "get")
        return nested_attributes(types, element, renamed, seen)
    if fqn not in seen:
        seen[fqn] = Block()
        seen[fqn].attributes = readable_attributes(types, definition, renamed, seen)
    return seen[fqn]


# --- the configuration: HCL -> problems ----------------------------------------------------------------------------


def tf_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.tf") if path.name not in GENERATED and ".terraform" not in path.parts)


def check_tree(root: Path, schema: Schema) -> list[Problem]:
    return [problem for path in tf_files(root) for problem in check_file(path, schema)]


def check_file(path: Path, schema: Schema) -> list[Problem]:
    tree = hcl2.parses_to_tree(path.read_text())
    problems: list[Problem] = []

    def report(line: int, reason: str) -> None:
        problems.append(Problem(path, line, schema.version, reason))

    for block in children(body_of(tree), "block"):
        kind, labels = block_header(block)
        if kind in ("resource", "data") and len(labels) == 2 and labels[0].startswith("aws_"):
            table = schema.resources if kind == "resource" else schema.data_sources
            block_schema = table.get(labels[0])
            if block_schema is None:
                noun = "resource" if kind == "resource" else "data source"
                report(block.meta.line, f"unknown {noun} type {labels[0]}")
            else:
                prefix = "data." if kind == "data" else ""  # as a reference names it
                check_body(block, block_schema, f"{prefix}{labels[0]}.{labels[1]}", report)
    for line, root, steps in references(tree):
        check_reference(line, root, steps, schema, report)
    return problems


def check_body(block: Tree, schema: Block, where: str, report) -> None:
    """The arguments and nested blocks written in a block against its schema; `where` names it in the reasons."""
    written = set()
    for item in body_of(block).children:
        if not isinstance(item, Tree):
            continue
        if item.data == "attribute":
            name = name_of(item.children[0])
            if name in META_ARGUMENTS:
                continue
            written.add(name)
            if name in schema.blocks:
                report(item.meta.line, f"{where}: {name} is a nested block, not an argument")
            elif name not in schema.arguments:
                kind = "read-only attribute" if attribute_key(name) in schema.attributes else "unknown argument"
                report(item.meta.line, f"{where}: {kind} {name}")
        elif item.data == "block":
            kind, labels = block_header(item)
            content: Tree | None = item
            if kind == "dynamic":  # dynamic "x" { for_each = ...; content { ... } } writes x blocks
                kind = labels[0] if labels else kind
                content = next((b for b in children(body_of(item), "block") if block_header(b)[0] == "content"), None)
            if kind in META_BLOCKS:
                continue
            written.add(kind)
            if kind in schema.blocks:
                if content is not None:
                    check_body(content, schema.blocks[kind], f"{where}.{kind}", report)
            elif kind in schema.arguments:
                report(item.meta.line, f"{where}: {kind} is an argument (`{kind} = ...`), not a block")
            else:
                report(item.meta.line, f"{where}: unknown block {kind}")
    for name in sorted(schema.required - written):
        what = "block" if name in schema.blocks else "argument"
        report(block.meta.line, f"{where}: missing required {what} {name}")


def check_reference(line: int, root: str, steps: list[str | None], schema: Schema, report) -> None:
    """steps: the names after the root, None for an index or splat."""
    prefix, table = "", schema.resources
    if root == "data" and steps and steps[0]:
        prefix, table, root, steps = "data.", schema.data_sources, steps[0], steps[1:]
    if not root.startswith("aws_") or root not in table or not steps or steps[0] is None:
        return  # not a resource, or an unknown type: reported where it is declared
    shown = f"{prefix}{root}.{steps[0]}"
    node: Block | None = table[root]
    for name in steps[1:]:
        if name is None:
            continue  # an instance (count/for_each) or an element of a nested block
        if node is None:
            return  # below a plain value (a map key such as tags.Name)
        if attribute_key(name) not in node.attributes:
            report(line, f"{shown}: unknown attribute {name}")
            return
        shown += f".{name}"
        node = node.attributes[attribute_key(name)]


# --- reading the lark tree of python-hcl2 ------------------------------------------------------------------------


def children(tree: Tree, data: str) -> list[Tree]:
    return [child for child in tree.children if isinstance(child, Tree) and child.data == data]


def body_of(tree: Tree) -> Tree:
    return next(child for child in tree.children if isinstance(child, Tree) and child.data == "body")


def name_of(node: Tree | Token) -> str:
    """An identifier, keyword or string label as plain text."""
    if isinstance(node, Token):
        return str(node)
    return "".join(name_of(child) for child in node.children if not (isinstance(child, Token) and child == '"'))


def block_header(block: Tree) -> tuple[str, list[str]]:
    """block type and labels: resource "aws_x" "name" -> ("resource", ["aws_x", "name"])."""
    header = []
    for child in block.children:
        if isinstance(child, Token) or child.data in ("body", "new_line_or_comment"):
            break
        header.append(name_of(child))
    return header[0], header[1:]


TRAVERSALS = {"get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"}
HEREDOC_INTERPOLATION = re.compile(r"(?<!\$)\$\{")  # $${ is a literal


def references(tree: Tree):
    """(line, root identifier, steps) of every traversal in the tree:
    aws_x.n.a[0].b -> ("aws_x", ["n", "a", None, "b"])."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Token):
            if node.type in ("HEREDOC_TEMPLATE", "HEREDOC_TEMPLATE_TRIM"):
                yield from heredoc_references(node)
            continue
        if node.data in TRAVERSALS:
            root, steps, inner = flatten(node)
            if isinstance(root, str):
                yield node.meta.line, root, steps
            else:
                stack.append(root)
            stack.extend(inner)
            continue
        stack.extend(node.children)


def flatten(node: Tree) -> tuple[str | Tree, list[str | None], list[Tree]]:
    """A traversal as (root identifier or root expression, steps, index expressions to search as well)."""
    steps: list[str | None] = []
    inner: list[Tree] = []
    while isinstance(node, Tree) and node.data in TRAVERSALS | {"expr_term"}:
        if node.data == "expr_term":
            if len(node.children) != 1 or not isinstance(node.children[0], Tree):
                break
            node = node.children[0]
            continue
        base, operation = node.children[0], node.children[1]
        steps[:0] = operation_steps(operation, inner)
        node = base
    if isinstance(node, Tree) and node.data == "identifier":
        return name_of(node), steps, inner
    return node, steps, inner


def operation_steps(operation: Tree, inner: list[Tree]) -> list[str | None]:
    if operation.data == "get_attr":
        return [name_of(operation.children[-1])]
    if operation.data in ("attr_splat", "full_splat"):
        steps: list[str | None] = [None]
        for part in operation.children:
            if isinstance(part, Tree):
                steps += operation_steps(part, inner)
        return steps
    inner.extend(child for child in operation.children if isinstance(child, Tree))  # braces_index [expr]
    return [None]


def heredoc_references(token: Token):
    """Interpolations in a heredoc (python-hcl2 keeps its text whole): each ${...} parsed as an expression."""
    text = str(token)
    for start in HEREDOC_INTERPOLATION.finditer(text):
        depth, end = 1, start.end()
        while end < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        line = token.line + text.count("\n", 0, start.start())
        for _, root, steps in references(hcl2.parses_to_tree(f"x = {text[start.end() : end - 1]}\n")):
            yield line, root, steps


# --- command line -------------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    command, *rest = argv or ["check"]
    try:
        if command == "install":
            fetched = install()
            print(
                f"provider schemas in {SCHEMA_DIR.relative_to(REPO)}: "
                + (f"fetched {', '.join(fetched)}" if fetched else "cached")
            )
            return 0
        if command != "check":
            print("usage: provider_schema.py install | check [DIR]", file=sys.stderr)
            return 2
        root = Path(rest[0]) if rest else TERRAFORM_DIR
        schemas = load_pinned_schemas()
    except SchemaError as error:
        print(f"provider_schema: {error}", file=sys.stderr)
        return 2
    problems = [problem for schema in schemas for problem in check_tree(root, schema)]
    for problem in problems:
        print(problem)
    versions = " and ".join(schema.version for schema in schemas)
    print(
        f"{len(problems)} problem(s) against hashicorp/aws {versions}"
        if problems
        else f"{root}: matches hashicorp/aws {versions}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    # Through the module by its name: the schemas it keeps (load_schema) then name their classes as an import does.
    import provider_schema

    sys.exit(provider_schema.main(sys.argv[1:]))
