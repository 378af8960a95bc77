"""Realistic computed outputs for the AWS resources of queues, buses and tables, under mocks.

``components.testing`` computes ARNs for every AWS type generically
(``arn:aws:<module>:<region>:<account>:<name>``); the types below have shapes the providers
rely on (an SQS queue's URL, a DynamoDB table's ``table/`` ARN and its stream ARN, EventBridge
``event-bus/`` and ``rule/<bus>/`` ARNs, the ``.fifo`` pulumi-aws appends to FIFO
auto-names). The fixture layers them over the harness's outputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from components import testing

ACCOUNT = testing.ACCOUNT_ID
STREAM_LABEL = "2026-01-01T00:00:00.000"


def realistic(type_: str, name: str, inputs: Mapping[str, Any], region: str, base: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    physical = out.get("name", name)
    if type_ == "aws:sqs/queue:Queue":
        if inputs.get("fifoQueue") and not inputs.get("name") and not str(physical).endswith(".fifo"):
            physical = f"{physical}.fifo"
        url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{physical}"
        out.update(name=physical, arn=f"arn:aws:sqs:{region}:{ACCOUNT}:{physical}", url=url, id=url)
    elif type_ == "aws:dynamodb/table:Table":
        arn = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{physical}"
        out.update(arn=arn, streamArn=f"{arn}/stream/{STREAM_LABEL}", streamLabel=STREAM_LABEL)
    elif type_ == "aws:cloudwatch/eventBus:EventBus":
        out["arn"] = f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{physical}"
    elif type_ == "aws:cloudwatch/eventRule:EventRule":
        bus = inputs.get("eventBusName", "default")
        out["arn"] = f"arn:aws:events:{region}:{ACCOUNT}:rule/{bus}/{physical}"
    elif type_ == "aws:cloudwatch/eventArchive:EventArchive":
        out["arn"] = f"arn:aws:events:{region}:{ACCOUNT}:archive/{physical}"
    elif type_ == "aws:lambda/eventSourceMapping:EventSourceMapping":
        digest = hashlib.sha256(name.encode()).hexdigest()
        out["uuid"] = f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"
    return out


@pytest.fixture
def aws_outputs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Use in a test (or ``pytestmark = pytest.mark.usefixtures("aws_outputs")``)."""
    original = testing._aws_outputs

    def patched(type_: str, name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
        return realistic(type_, name, inputs, region, original(type_, name, inputs, region))

    monkeypatch.setattr(testing, "_aws_outputs", patched)
    yield
