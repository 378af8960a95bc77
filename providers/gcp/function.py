"""Function on GCP: Cloud Functions (2nd gen) with its own service account.

What gets registered (children of the component unless said otherwise):

* ``gcp:serviceaccount/account:Account`` ``<name>-sa``: the function's identity; it gets no
  project-wide role (links grant exactly what they need).
* ``gcp:storage/bucketObject:BucketObject`` ``<name>-source``: the deterministic archive,
  named by its content hash in the stack's source bucket (see :mod:`providers.gcp.stack`), so
  a code change uploads a new object and triggers a new Cloud Build (which installs
  ``requirements.txt``: the remote build).
* per secret: ``gcp:secretmanager/secret:Secret``, ``.../secretVersion:SecretVersion`` (the value,
  kept a Pulumi secret) and ``.../secretIamMember:SecretIamMember`` (``secretAccessor`` for the
  function's account on that secret only). The function references the pinned version, so the
  value never appears in its plain configuration and a new value rolls out a new revision.
* ``gcp:cloudfunctionsv2/function:Function`` ``<name>``: HTTP-triggered (every omnicloud
  function is; triggers call its URL), entry point ``entry`` from the gcp runtime adapter.
* ``http="public"``: ``gcp:cloudrunv2/serviceIamMember:ServiceIamMember`` granting
  ``roles/run.invoker`` to ``allUsers`` on the function's Cloud Run service (gen2 functions are
  served by Cloud Run, so that is where invocation is authorized). Private functions get no
  binding: callers need ``run.invoker`` granted explicitly.
* ``schedule``: a scheduler service account, its ``run.invoker`` binding on this function's
  service only, and a ``gcp:cloudscheduler/job:Job`` POSTing the scheduled event with an OIDC
  token of that account.
* per link (``links=[orders.allow("read"), ...]``): the grants of the verb table in
  :mod:`providers.gcp.grants`, to this function's service account only, on the linked resource.
* logs: ``gcp:logging/projectBucketConfig:ProjectBucketConfig`` (a log bucket with the requested
  retention), ``gcp:logging/projectSink:ProjectSink`` routing the function's Cloud Run logs into
  it, and ``gcp:logging/projectExclusion:ProjectExclusion`` keeping them out of the project's
  ``_Default`` bucket, whose fixed 30-day retention would otherwise keep a second copy. Cloud
  Logging keeps retention per log bucket, not per function, hence one bucket per function. A
  sink writing to a log bucket in its own project needs no IAM grant (it has no writer
  identity), so none is made.

The environment always holds ``OMNICLOUD_TRIGGERS`` (``[]`` when nothing is wired), the JSON list
of the triggers that queue, bus and table subscriptions add after the function is declared; the
adapter of a public function checks each push / pipeline / Eventarc call is signed by the
identity named there. The archive is built once those subscriptions are known too, so its
``requirements.txt`` lists exactly what runs: the SDK of each linked kind, google-auth where a
public function verifies tokens, google-events where it decodes Firestore changes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.cloudfunctionsv2.outputs import FunctionServiceConfig

from components.errors import InvalidArgsError, require
from components.function_args import FunctionArgs
from components.packaging import ArchiveSpec, BuiltArchive, RemoteBuild, build_archive
from components.runtime import env
from components.schedule import ScheduleError, parse_schedule
from providers.gcp import grants, naming
from providers.gcp.deferred import trigger_kinds
from providers.gcp.schedule import UnsupportedSchedule, to_unix_cron
from providers.gcp.stack import GcpStackResources, stack_resources
from providers.protocols import FunctionOutputs
from providers.shared import (
    TRIGGERS_ENV,
    apply_overrides,
    cross_cloud_links,
    runtime_environment,
    secret_environment,
    tags_for,
    task_callers_of,
    triggers_of,
)

CLOUD = "gcp"
ENTRY_POINT = "entry"
FRAMEWORK_REQUIREMENT = "functions-framework>=3.8"
# A public scheduled function verifies the scheduler's OIDC token itself (see the adapter).
TOKEN_CHECK_REQUIREMENTS = ("google-auth>=2.30", "requests>=2.31")
# The official SDK each linked kind's runtime client calls.
LINK_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "queue": ("google-cloud-pubsub>=2.23",),
    "table": ("google-cloud-firestore>=2.16",),
    "bus": ("google-cloud-eventarc-publishing>=0.10",),
    "workflow": ("google-cloud-workflows>=1.24",),
}
# Firestore change events arrive as protobuf DocumentEventData.
TABLE_TRIGGER_REQUIREMENTS = ("google-events>=0.14",)

# memory_mb -> (Cloud Functions memory, vCPU). Google's gen2 tiers: below 2 GiB an instance
# gets a fraction of a vCPU; above 4 GiB Cloud Run requires at least 2, above 8 GiB 4, above
# 24 GiB 8. Writing the CPU explicitly keeps a memory change from leaving the old CPU behind.
MEMORY_TIERS: dict[int, tuple[str, str]] = {
    128: ("128Mi", "0.083"),
    256: ("256Mi", "0.167"),
    512: ("512Mi", "0.333"),
    1024: ("1Gi", "0.583"),
    2048: ("2Gi", "1"),
    4096: ("4Gi", "2"),
    8192: ("8Gi", "2"),
    16384: ("16Gi", "4"),
    32768: ("32Gi", "8"),
}
HTTP_TIMEOUT_MAX_S = 3600
"""HTTP functions (2nd gen) run at most 60 minutes."""
SCHEDULED_TIMEOUT_MAX_S = 1800
"""Cloud Scheduler's HTTP attempt deadline is at most 30 minutes."""
SCHEDULER_DEADLINE_MIN_S = 15
SCHEDULER_DEADLINE_MARGIN_S = 30
"""Room for a cold start, so a run that ends within its timeout is never cut off and retried."""
SCHEDULER_RETRIES = 3
MAX_INSTANCES_LIMIT = 1000
"""The regional per-service instance quota baseline; more needs a quota increase."""
DEFAULT_MAX_INSTANCES = 100
"""Cloud Functions' max instance count when none is given."""
LOG_RETENTION_DAYS = (1, 3650)
RUNTIMES = {"python3.11": "python311", "python3.12": "python312", "python3.13": "python313"}
# Set by Cloud Run / the Python runtime; a user value would be rejected or break the function.
RESERVED_ENV = frozenset({"PORT", "FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE", "K_SERVICE",
                          "K_REVISION", "K_CONFIGURATION"})
RESERVED_ENV_PREFIXES = ("X_GOOGLE_",)
# Functions-framework logs each request's execution ID when set; Cloud Functions sets it on
# every gen2 function anyway, so stating it avoids a perpetual diff.
PLATFORM_ENV = {"LOG_EXECUTION_ID": "true"}
SCHEDULER_IDENTITY_ENV = "OMNICLOUD_SCHEDULER_IDENTITY"


@dataclass(frozen=True)
class GcpSecretResources:
    """One secret environment variable in Secret Manager."""

    secret: gcp.secretmanager.Secret
    version: gcp.secretmanager.SecretVersion
    access: gcp.secretmanager.SecretIamMember


@dataclass(frozen=True)
class GcpFunctionResources:
    """The native resources behind a Function on GCP."""

    function: gcp.cloudfunctionsv2.Function
    service_account: gcp.serviceaccount.Account
    source: gcp.storage.BucketObject
    log_bucket: gcp.logging.ProjectBucketConfig
    log_sink: gcp.logging.ProjectSink
    log_exclusion: gcp.logging.ProjectExclusion
    stack: GcpStackResources
    """The per-stack shared resources (not children of this function)."""
    secrets: dict[str, GcpSecretResources] = field(default_factory=dict)
    grants: list[Any] = field(default_factory=list)
    """The IAM bindings the links' verbs imply (see :mod:`providers.gcp.grants`)."""
    public_invoker: gcp.cloudrunv2.ServiceIamMember | None = None
    schedule: gcp.cloudscheduler.Job | None = None
    scheduler_account: gcp.serviceaccount.Account | None = None
    scheduler_invoker: gcp.cloudrunv2.ServiceIamMember | None = None


class GcpFunctionProvider:
    """Builds :class:`components.Function` on Cloud Functions (2nd gen)."""

    def validate(self, name: str, args: FunctionArgs) -> None:
        component = f"Function '{name}'"
        naming.check_function_name(component, name)
        cross_cloud_links(component, CLOUD, args.links)
        require(args.runtime in RUNTIMES, component, "runtime", args.runtime,
                f"Cloud Functions Python runtimes here are {sorted(RUNTIMES)}", cloud=CLOUD)
        require(args.architecture in (None, "x86_64"), component, "architecture", args.architecture,
                "Cloud Functions runs x86_64 only (leave it None or set 'x86_64')", cloud=CLOUD)
        require(args.memory_mb in MEMORY_TIERS, component, "memory_mb", args.memory_mb,
                f"Cloud Functions (2nd gen) memory is one of {sorted(MEMORY_TIERS)} MB", cloud=CLOUD)
        _validate_timeout(component, args)
        _validate_instances(component, args)
        low, high = LOG_RETENTION_DAYS
        require(low <= args.log_retention_days <= high, component, "log_retention_days",
                args.log_retention_days,
                f"Cloud Logging bucket retention is {low}-{high} days", cloud=CLOUD)
        _validate_environment(component, args)
        naming.check_labels(component, tags_for(name, args))
        if args.schedule is not None:
            try:
                to_unix_cron(parse_schedule(args.schedule))
            except (UnsupportedSchedule, ScheduleError) as exc:
                raise InvalidArgsError(component, "schedule", args.schedule, str(exc),
                                       cloud=CLOUD) from None

    def create(self, name: str, args: FunctionArgs, parent: pulumi.ComponentResource) -> FunctionOutputs:
        child = pulumi.ResourceOptions(parent=parent)
        shared = stack_resources()
        labels = naming.labels(tags_for(name, args))
        scope = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        account = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=naming.service_account_id(scope, name, "fn"),
            display_name=f"omnicloud Function '{name}'"[:100],
            description=f"Runtime identity of omnicloud Function '{name}' "
                        f"(stack {pulumi.get_stack()})",
            opts=child,
        )
        granted = grants.grant_links(name, args.links, account, child)
        source = _upload_source(name, args, shared, parent, child)
        secrets = {
            key: _secret(name, key, value, scope, account, labels, child)
            for key, value in secret_environment(args).items()
        }
        scheduler_account = _scheduler_account(name, scope, child) if args.schedule else None
        function = _function(name, args, shared, account, source, secrets, labels, parent,
                             scheduler_account)
        service = function.service_config.apply(_service_name)
        log_bucket, log_sink, log_exclusion = _logs(name, args, scope, account, service, child)
        resources = GcpFunctionResources(
            function=function,
            service_account=account,
            source=source,
            log_bucket=log_bucket,
            log_sink=log_sink,
            log_exclusion=log_exclusion,
            stack=shared,
            secrets=secrets,
            grants=granted,
        )
        uri: pulumi.Output[str] = function.service_config.apply(_service_uri)
        if args.http == "public":
            resources = replace(
                resources,
                public_invoker=_invoker(f"{name}-public", function, service, "allUsers", child),
            )
        if args.schedule is not None:
            assert scheduler_account is not None
            resources = _schedule(name, args, scheduler_account, function, service, uri,
                                  resources, child)
        url: pulumi.Output[str | None] = (
            uri.apply(lambda value: value) if args.http is not None
            else pulumi.Output.from_input(None)
        )
        return FunctionOutputs(
            name=function.name,
            resource_id=function.id,
            url=url,
            identity=account.email,
            resources=resources,
        )


def _validate_timeout(component: str, args: FunctionArgs) -> None:
    if args.schedule is not None:
        require(args.timeout_s <= SCHEDULED_TIMEOUT_MAX_S, component, "timeout_s", args.timeout_s,
                f"a scheduled function runs at most {SCHEDULED_TIMEOUT_MAX_S} s: Cloud Scheduler "
                f"waits at most {SCHEDULED_TIMEOUT_MAX_S} s for an HTTP target and would retry a "
                "run still in progress", cloud=CLOUD)
    require(args.timeout_s <= HTTP_TIMEOUT_MAX_S, component, "timeout_s", args.timeout_s,
            f"Cloud Functions (2nd gen) HTTP functions run at most {HTTP_TIMEOUT_MAX_S} s",
            cloud=CLOUD)


def _validate_instances(component: str, args: FunctionArgs) -> None:
    if args.max_instances is not None:
        require(args.max_instances <= MAX_INSTANCES_LIMIT, component, "max_instances",
                args.max_instances,
                f"at most {MAX_INSTANCES_LIMIT} (the regional Cloud Run instance quota baseline; "
                "raise the quota and use overrides for more)", cloud=CLOUD)
    ceiling = args.max_instances if args.max_instances is not None else DEFAULT_MAX_INSTANCES
    require(args.min_instances <= ceiling, component, "min_instances", args.min_instances,
            f"cannot exceed max_instances ({ceiling}"
            f"{'' if args.max_instances is not None else ', the Cloud Functions default'})",
            cloud=CLOUD)


def _validate_environment(component: str, args: FunctionArgs) -> None:
    for group, names in (("environment", args.environment), ("secrets", args.secrets)):
        for key in names:
            require(key not in RESERVED_ENV and not key.startswith(RESERVED_ENV_PREFIXES),
                    component, f"{group}.{key}", key,
                    f"reserved by Cloud Functions / Cloud Run: {sorted(RESERVED_ENV)} and "
                    f"prefixes {RESERVED_ENV_PREFIXES}", cloud=CLOUD)
    both = sorted(set(args.environment) & set(args.secrets))
    require(not both, component, "secrets", both,
            "a variable is either plain (environment) or secret (secrets), not both", cloud=CLOUD)


def requirements(args: FunctionArgs, triggers: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """What the archive installs: the entry adapter's needs, the linked kinds' SDKs, and what
    the wired ``triggers`` ("queue", "bus", "table") need to be received."""
    wanted = [FRAMEWORK_REQUIREMENT]
    # A public function verifies who signed a scheduled or pushed call (see the adapter); a
    # private one is protected by Cloud Run's IAM check before the call reaches it.
    if args.http == "public" and (args.schedule is not None or triggers):
        wanted += TOKEN_CHECK_REQUIREMENTS
    for kind in sorted({link.kind for link in args.links}):
        wanted += LINK_REQUIREMENTS.get(kind, ())
    if "table" in triggers:
        wanted += TABLE_TRIGGER_REQUIREMENTS
    return tuple(dict.fromkeys(wanted))


def _archive(name: str, args: FunctionArgs, triggers: frozenset[str]) -> BuiltArchive:
    # Imported here: the runtime adapters load only for the target in use.
    from components.runtime.adapters import gcp as adapter

    return build_archive(
        ArchiveSpec(
            handler=args.handler,
            dependencies=RemoteBuild(always=requirements(args, triggers)),
            entry_files=adapter.entry_files(),
        ),
        component=f"Function '{name}'",
    )


def _upload_source(
    name: str,
    args: FunctionArgs,
    shared: GcpStackResources,
    parent: pulumi.ComponentResource,
    opts: pulumi.ResourceOptions,
) -> gcp.storage.BucketObject:
    # Built now (a broken handler package fails before anything deploys) and again once the
    # program body has wired this function's triggers, whose packages it may need; an unchanged
    # specification reuses the first archive.
    _archive(name, args, frozenset())
    archive = trigger_kinds(parent).output().apply(lambda kinds: _archive(name, args, frozenset(kinds)))
    return gcp.storage.BucketObject(
        f"{name}-source",
        bucket=shared.source_bucket.name,
        # A new name per content: the function's source changes, so Cloud Build runs again.
        name=archive.apply(lambda built: f"{name}/{built.sha256[:16]}.zip"),
        source=archive.apply(lambda built: pulumi.FileAsset(str(built.path))),
        content_type="application/zip",
        opts=opts,
    )


def _secret(
    name: str,
    key: str,
    value: pulumi.Output[str],
    scope: str,
    account: gcp.serviceaccount.Account,
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> GcpSecretResources:
    logical = f"{name}-secret-{key.lower().replace('_', '-')}"
    secret = gcp.secretmanager.Secret(
        logical,
        secret_id=naming.secret_id(scope, pulumi.get_stack(), name, key),
        replication=gcp.secretmanager.SecretReplicationArgs(
            auto=gcp.secretmanager.SecretReplicationAutoArgs()
        ),
        labels=labels,
        opts=opts,
    )
    version = gcp.secretmanager.SecretVersion(
        logical,
        secret=secret.id,
        secret_data=value,
        opts=opts,
    )
    access = gcp.secretmanager.SecretIamMember(
        logical,
        project=secret.project,
        secret_id=secret.secret_id,
        role="roles/secretmanager.secretAccessor",
        member=account.member,
        opts=opts,
    )
    return GcpSecretResources(secret=secret, version=version, access=access)


def _function(
    name: str,
    args: FunctionArgs,
    shared: GcpStackResources,
    account: gcp.serviceaccount.Account,
    source: gcp.storage.BucketObject,
    secrets: dict[str, GcpSecretResources],
    labels: dict[str, str],
    parent: pulumi.ComponentResource,
    scheduler_account: gcp.serviceaccount.Account | None,
) -> gcp.cloudfunctionsv2.Function:
    memory, cpu = MEMORY_TIERS[args.memory_mb]
    kwargs: dict[str, Any] = {
        "location": shared.region,
        "description": args.description or f"omnicloud Function '{name}' ({args.handler})",
        "build_config": gcp.cloudfunctionsv2.FunctionBuildConfigArgs(
            runtime=RUNTIMES[args.runtime],
            entry_point=ENTRY_POINT,
            source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceArgs(
                storage_source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceStorageSourceArgs(
                    bucket=source.bucket,
                    object=source.name,
                )
            ),
        ),
        "service_config": gcp.cloudfunctionsv2.FunctionServiceConfigArgs(
            available_memory=memory,
            available_cpu=cpu,
            timeout_seconds=args.timeout_s,
            min_instance_count=args.min_instances,
            max_instance_count=args.max_instances,
            service_account_email=account.email,
            # Every omnicloud function is reached over HTTPS (its URL, the scheduler, push
            # triggers); private functions stay private through IAM (run.invoker), not ingress.
            ingress_settings="ALLOW_ALL",
            all_traffic_on_latest_revision=True,
            environment_variables={
                **PLATFORM_ENV,
                **runtime_environment(CLOUD, name, args),
                # The adapter of a public function checks scheduled calls are signed by it.
                **({SCHEDULER_IDENTITY_ENV: scheduler_account.email} if scheduler_account else {}),
                # Queue / bus / table triggers wired after this function (JSON, '[]' if none).
                TRIGGERS_ENV: triggers_of(parent).output(),
                # Workflows whose tasks call a public function: the adapter accepts their
                # tokens only (Cloud Run IAM already guards a private one).
                **({env.TASK_CALLERS: task_callers_of(parent).output()} if args.http == "public" else {}),
            },
            secret_environment_variables=[
                gcp.cloudfunctionsv2.FunctionServiceConfigSecretEnvironmentVariableArgs(
                    key=key,
                    project_id=item.secret.project,
                    secret=item.secret.secret_id,
                    # The pinned number, not 'latest': a new value deploys a new revision
                    # instead of reaching only instances started after the change.
                    version=item.version.version,
                )
                for key, item in secrets.items()
            ] or None,
        ),
        "labels": labels,
    }
    kwargs = apply_overrides(f"Function '{name}'", CLOUD, gcp.cloudfunctionsv2.Function, kwargs,
                             args.overrides)
    return gcp.cloudfunctionsv2.Function(
        name,
        **kwargs,
        # The deployment checks that the service account can read each secret.
        opts=pulumi.ResourceOptions(parent=parent,
                                    depends_on=[item.access for item in secrets.values()]),
    )


def _logs(
    name: str,
    args: FunctionArgs,
    scope: str,
    account: gcp.serviceaccount.Account,
    service: pulumi.Output[str],
    opts: pulumi.ResourceOptions,
) -> tuple[gcp.logging.ProjectBucketConfig, gcp.logging.ProjectSink, gcp.logging.ProjectExclusion]:
    stack = pulumi.get_stack()
    project = account.project
    bucket = gcp.logging.ProjectBucketConfig(
        f"{name}-logs",
        project=project,
        location="global",
        bucket_id=naming.log_bucket_id(scope, stack, name),
        retention_days=args.log_retention_days,
        description=f"Logs of omnicloud Function '{name}' (stack {stack})",
        opts=opts,
    )
    log_filter = service.apply(
        lambda svc: f'resource.type="cloud_run_revision" AND resource.labels.service_name="{svc}"'
    )
    sink = gcp.logging.ProjectSink(
        f"{name}-logs",
        project=project,
        name=naming.log_sink_name(scope, stack, name),
        destination=pulumi.Output.concat(
            "logging.googleapis.com/projects/", project, "/locations/global/buckets/",
            bucket.bucket_id,
        ),
        filter=log_filter,
        unique_writer_identity=True,
        description=f"Routes omnicloud Function '{name}' logs to their own retention",
        opts=opts,
    )
    # Created after the sink, so no log line is ever dropped from both places.
    exclusion = gcp.logging.ProjectExclusion(
        f"{name}-logs",
        project=project,
        name=naming.log_exclusion_name(scope, stack, name),
        filter=log_filter,
        description=f"omnicloud Function '{name}' logs go to their own bucket, not _Default",
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[sink])),
    )
    return bucket, sink, exclusion


def _invoker(
    logical: str,
    function: gcp.cloudfunctionsv2.Function,
    service: pulumi.Output[str],
    member: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> gcp.cloudrunv2.ServiceIamMember:
    """``roles/run.invoker`` for ``member`` on this function's Cloud Run service only."""
    return gcp.cloudrunv2.ServiceIamMember(
        logical,
        project=function.project,
        location=function.location,
        name=service,
        role="roles/run.invoker",
        member=member,
        opts=opts,
    )


def _scheduler_account(name: str, scope: str, opts: pulumi.ResourceOptions) -> gcp.serviceaccount.Account:
    """The identity Cloud Scheduler signs its calls with; created before the function, whose
    environment names it."""
    return gcp.serviceaccount.Account(
        f"{name}-scheduler",
        account_id=naming.service_account_id(scope, name, "sched"),
        display_name=f"omnicloud schedule of Function '{name}'"[:100],
        description=f"Cloud Scheduler identity invoking omnicloud Function '{name}' "
                    f"(stack {pulumi.get_stack()})",
        opts=opts,
    )


def _schedule(
    name: str,
    args: FunctionArgs,
    scheduler_account: gcp.serviceaccount.Account,
    function: gcp.cloudfunctionsv2.Function,
    service: pulumi.Output[str],
    uri: pulumi.Output[str],
    resources: GcpFunctionResources,
    opts: pulumi.ResourceOptions,
) -> GcpFunctionResources:
    assert args.schedule is not None
    invoker = _invoker(f"{name}-scheduler", function, service,
                       scheduler_account.member, opts)
    body = json.dumps({"omnicloud": {"kind": "scheduled", "schedule": args.schedule}},
                      sort_keys=True)
    deadline = min(args.timeout_s + SCHEDULER_DEADLINE_MARGIN_S, SCHEDULED_TIMEOUT_MAX_S)
    job = gcp.cloudscheduler.Job(
        f"{name}-schedule",
        region=resources.stack.region,
        description=f"omnicloud Function '{name}': {args.schedule}",
        schedule=to_unix_cron(parse_schedule(args.schedule)),
        time_zone="Etc/UTC",
        attempt_deadline=f"{max(deadline, SCHEDULER_DEADLINE_MIN_S)}s",
        retry_config=gcp.cloudscheduler.JobRetryConfigArgs(
            retry_count=SCHEDULER_RETRIES,
            min_backoff_duration="10s",
            max_backoff_duration="300s",
            max_doublings=3,
        ),
        http_target=gcp.cloudscheduler.JobHttpTargetArgs(
            uri=uri,
            http_method="POST",
            headers={"Content-Type": "application/json"},
            body=base64.b64encode(body.encode()).decode(),
            oidc_token=gcp.cloudscheduler.JobHttpTargetOidcTokenArgs(
                service_account_email=scheduler_account.email,
                audience=uri,
            ),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[invoker])),
    )
    return replace(resources, schedule=job, scheduler_account=scheduler_account,
                   scheduler_invoker=invoker)


def run_service(function: gcp.cloudfunctionsv2.Function) -> pulumi.Output[str]:
    """The name of the Cloud Run service serving a gen2 function (where run.invoker is granted)."""
    return function.service_config.apply(_service_name)


def run_uri(function: gcp.cloudfunctionsv2.Function) -> pulumi.Output[str]:
    """The function's Cloud Run URL: push endpoints, pipeline destinations and OIDC audiences."""
    return function.service_config.apply(_service_uri)


def _service_name(config: FunctionServiceConfig | None) -> str:
    """The Cloud Run service behind a gen2 function: last segment of ``service_config.service``."""
    assert config is not None and config.service, "Cloud Functions reports the service it created"
    return config.service.rsplit("/", 1)[-1]


def _service_uri(config: FunctionServiceConfig | None) -> str:
    """The function's Cloud Run URL (``https://<service>-<hash>-<region>.a.run.app``)."""
    assert config is not None and config.uri, "Cloud Functions reports the URL it serves"
    return config.uri
