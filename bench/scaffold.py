"""Benchmark scaffolding created in the stack with boto3 (never part of the product), and removed at the end:
functions, a REST API with one AWS_PROXY route, a bucket for files no product trigger watches."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any, Callable

from bench.common import Stack
from tests.helpers.stack import Bucket

ROLE = "arn:aws:iam::000000000000:role/bench-scaffolding"


def zip_of(files: dict[str, str | bytes]) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return archive.getvalue()


class Scaffold:
    """Creates resources and remembers how to delete them; close() deletes them, newest first."""

    def __init__(self, stack: Stack, run: str) -> None:
        self.stack, self.run = stack, run
        self.lambdas = stack.client("lambda")
        self._undo: list[Callable[[], Any]] = []

    def name(self, what: str) -> str:
        return f"bench-{what}-{self.run}-{uuid.uuid4().hex[:4]}".lower()

    def function(
        self,
        what: str,
        code: bytes | Path,
        env: dict[str, str] | None = None,
        *,
        runtime: str = "python3.13",
        layers: list[str] | None = None,
        timeout: int = 900,
        memory: int = 512,
    ) -> str:
        """A function from a zip, or (a folder) from LocalStack's `hot-reload` bucket, as `make dev` deploys."""
        name = self.name(what)
        source = {"ZipFile": code} if isinstance(code, bytes) else {"S3Bucket": "hot-reload", "S3Key": str(code)}
        self.lambdas.create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=ROLE,
            Handler="handler.handler",
            Code=source,
            Timeout=timeout,
            MemorySize=memory,
            Environment={"Variables": env or {}},
            Layers=layers or [],
        )
        self._undo.append(lambda: self.lambdas.delete_function(FunctionName=name))
        self.lambdas.get_waiter("function_active_v2").wait(FunctionName=name)
        return name

    def bucket(self, what: str) -> str:
        s3 = self.stack.client("s3")
        name = self.name(what)
        s3.create_bucket(Bucket=name)
        self._undo.append(Bucket(s3, name).remove)
        return name

    def proxy_api(self, function_name: str, path: str) -> str:
        """A REST API with one GET /<path> AWS_PROXY route to the function; returns its invoke URL."""
        api = self.stack.client("apigateway")
        arn = self.lambdas.get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
        api_id = api.create_rest_api(name=self.name("api"))["id"]
        self._undo.append(lambda: api.delete_rest_api(restApiId=api_id))
        root = next(r["id"] for r in api.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        resource = api.create_resource(restApiId=api_id, parentId=root, pathPart=path)["id"]
        api.put_method(restApiId=api_id, resourceId=resource, httpMethod="GET", authorizationType="NONE")
        api.put_integration(
            restApiId=api_id,
            resourceId=resource,
            httpMethod="GET",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations",
        )
        api.create_deployment(restApiId=api_id, stageName="bench")
        return f"{self.stack.endpoint}/_aws/execute-api/{api_id}/bench/{path}"

    def close(self) -> None:
        while self._undo:
            try:
                self._undo.pop()()
            except Exception as error:  # noqa: BLE001 - clean-up goes on; the stack is throwaway anyway
                print(f"bench: clean-up step failed: {error}")


def handler_zip(module: Path) -> bytes:
    """A function zip whose handler.py is the given module of bench/."""
    return zip_of({"handler.py": module.read_text()})


NOOP_PROXY_HANDLER = (
    "def handler(event, context):\n"
    "    return {'statusCode': 200, 'headers': {'Content-Type': 'application/json'}, 'body': '{}'}\n"
)
