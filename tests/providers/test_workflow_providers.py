"""Workflow on each cloud, as recorded under the Pulumi mocks: the native resources, the exact
rights a workflow gets to call its task functions, what ``allow("start")`` grants, and the
per-cloud rejections that happen before anything is registered."""

from __future__ import annotations

import json

import pytest
import yaml

from components import Function, FunctionArgs, Workflow, WorkflowArgs
from components.errors import InvalidArgsError
from components.links import link_env_name
from components.testing import ACCOUNT_ID, MockStack
from components.workflow import Map, Retry, Task

API = "functions.api.handle"


def _program(**task_options):
    price = Function("price", FunctionArgs(handler=API))
    ship = Function("ship", FunctionArgs(handler=API, http="public"))
    flow = Workflow(
        "checkout",
        WorkflowArgs(
            steps=[
                Map("lines", items="$.lines", steps=[Task("p", price, result="line")], result="priced"),
                Task("s", ship, args={"order": "$.order"}, retry=Retry(max_retries=2), **task_options),
            ]
        ),
    )
    api = Function("api", FunctionArgs(handler=API, links=[flow.allow("start")]))
    return price, ship, flow, api


# -- AWS ---------------------------------------------------------------------------------------


def test_aws_state_machine_is_standard_with_logging_and_the_compiled_definition(project_root):
    with MockStack(cloud="aws", root=project_root) as stack:
        _, _, flow, _ = _program()
        machine = stack.one("aws:sfn/stateMachine:StateMachine", "checkout")
        log_group = stack.one("aws:cloudwatch/logGroup:LogGroup", "checkout-logs")
        arn = stack.resolve(flow.resource_id)
    assert machine.inputs["type"] == "STANDARD"
    assert machine.inputs["loggingConfiguration"] == {
        "level": "ERROR",
        "includeExecutionData": False,
        "logDestination": f"{log_group.outputs['arn']}:*",
    }
    assert log_group.inputs["name"] == "/aws/vendedlogs/states/omnicloud/omnicloud/test/checkout"
    definition = json.loads(machine.inputs["definition"])
    resources = json.dumps(definition)
    assert f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:price" in resources
    assert "arn:aws:states:::lambda:invoke" in resources
    assert arn == f"arn:aws:states:us-east-1:{ACCOUNT_ID}:stateMachine:{machine.outputs['name']}"


def test_aws_role_may_invoke_exactly_the_task_functions_and_start_is_exact(project_root):
    with MockStack(cloud="aws", root=project_root) as stack:
        _program()
        role = stack.one("aws:iam/role:Role", "checkout-role")
        invoke = json.loads(stack.one("aws:iam/rolePolicy:RolePolicy", "checkout-invoke").inputs["policy"])
        start = json.loads(stack.one("aws:iam/rolePolicy:RolePolicy", "api-workflow-checkout").inputs["policy"])
        machine = stack.one("aws:sfn/stateMachine:StateMachine", "checkout")
        lambdas = {r.name: r.outputs["arn"] for r in stack.find("aws:lambda/function:Function")}
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "states.amazonaws.com"
    }
    assert sorted(r for s in invoke["Statement"] for r in s["Resource"]) == sorted([lambdas["price"], lambdas["ship"]])
    assert {a for s in invoke["Statement"] for a in s["Action"]} == {"lambda:InvokeFunction"}
    (statement,) = start["Statement"]
    assert statement["Action"] == ["states:StartExecution"]
    assert statement["Resource"] == [machine.outputs["arn"]]


def test_aws_rejects_a_name_too_long_for_the_state_machine_role(project_root):
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("f", FunctionArgs(handler=API))
        with pytest.raises(InvalidArgsError) as raised:
            Workflow("w" * 60, WorkflowArgs(steps=[Task("a", "f")]))
        assert not stack.find("omnicloud:index:Workflow")
    assert raised.value.field == "name" and raised.value.cloud == "aws"


# -- GCP ---------------------------------------------------------------------------------------


def test_gcp_workflow_runs_as_its_own_account_with_run_invoker_on_each_task_function(project_root):
    with MockStack(cloud="gcp", root=project_root) as stack:
        _, _, flow, _ = _program()
        workflow = stack.one("gcp:workflows/workflow:Workflow", "checkout")
        account = stack.one("gcp:serviceaccount/account:Account", "checkout-sa")
        invokers = {r.name: r for r in stack.find("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")}
        start = stack.one("gcp:projects/iAMMember:IAMMember", "api-workflow-checkout-start")
        ship_env = stack.one("gcp:cloudfunctionsv2/function:Function", "ship").inputs["serviceConfig"][
            "environmentVariables"
        ]
        api_env = stack.one("gcp:cloudfunctionsv2/function:Function", "api").inputs["serviceConfig"][
            "environmentVariables"
        ]
        callers = json.loads(ship_env["OMNICLOUD_TASK_CALLERS"])
        locator = json.loads(api_env[link_env_name("workflow", "checkout")])
        full_name = stack.resolve(flow.resource_id)
    email = account.outputs["email"]
    assert workflow.inputs["serviceAccount"] == account.outputs["id"]
    assert workflow.inputs["callLogLevel"] == "LOG_ERRORS_ONLY"
    assert workflow.inputs["deletionProtection"] is False
    source = yaml.safe_load(workflow.inputs["sourceContents"])
    assert "main" in source
    assert {"checkout-invoke-price", "checkout-invoke-ship"} <= set(invokers)
    for name in ("checkout-invoke-price", "checkout-invoke-ship"):
        assert invokers[name].inputs["member"] == f"serviceAccount:{email}"
        assert invokers[name].inputs["role"] == "roles/run.invoker"
    assert start.inputs["role"] == "roles/workflows.invoker"
    # A public task function checks the workflow's token itself.
    assert callers == [email]
    assert locator == {"kind": "workflow", "cloud": "gcp", "name": "checkout", "id": full_name}
    assert full_name.startswith("projects/omnicloud-test/locations/us-central1/workflows/")


# -- Azure -------------------------------------------------------------------------------------


def test_azure_orchestrator_app_gets_its_start_queue_durable_roles_and_secret_targets(project_root):
    with MockStack(cloud="azure", root=project_root) as stack:
        _program()
        app = stack.one("azure-native:web:WebApp", "checkout")
        queue = stack.one("azure-native:storage:Queue", "checkout-start")
        assignments = {r.name: r for r in stack.find("azure-native:authorization:RoleAssignment")}
        settings = {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}
        api_settings = {
            s["name"]: s["value"]
            for s in stack.one("azure-native:web:WebApp", "api").inputs["siteConfig"]["appSettings"]
        }
        start_scope = assignments["api-workflow-checkout-start"].inputs["scope"]
        price_app = stack.one("azure-native:web:WebApp", "price").outputs["name"]
    assert queue.inputs["queueName"] == "wf-checkout-start"
    assert start_scope == queue.outputs["id"]
    assert {"checkout-durable-queues", "checkout-durable-tables", "checkout-host-storage"} <= set(assignments)
    targets = json.loads(settings["OMNICLOUD_WORKFLOW_TARGETS"])
    assert set(targets) == {"price", "ship"}
    assert targets["price"]["key"] == f"mock-function-key-{price_app}"
    assert targets["price"]["url"].startswith("https://")
    assert settings["OMNICLOUD_START_QUEUE"] == "wf-checkout-start"
    locator = json.loads(api_settings[link_env_name("workflow", "checkout")])
    assert locator["queue_url"].endswith("/wf-checkout-start") and locator["queue_url"].startswith("https://")
    assert any(r.name == "checkout-package" for r in stack.find("azure-native:storage:Blob"))


def test_azure_rejects_a_task_timeout_beyond_the_http_front_end_limit(project_root):
    with MockStack(cloud="azure", root=project_root), pytest.raises(InvalidArgsError) as raised:
        _program(timeout_s=300)
    assert raised.value.field == "steps[1].timeout_s" and raised.value.cloud == "azure"
    assert "230" in str(raised.value)
