"""What a scenario step does: set the mode switch, fire an alarm or a schedule, deliver an event, start a runbook.
Each step returns once everything it started has finished."""

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter

from catalog import naming
from catalog.service_events import PLANNED_STOP_PREFIX, RDS_DOWN_EVENT_IDS, RDS_UP_EVENT_IDS
from operators import approvals
from sandbox.eventbus import (
    alarm_event,
    ecs_service_action_event,
    ecs_task_stopped_event,
    parameter_change_event,
    rds_cluster_event,
    scheduled_event,
)
from sandbox.lifecycle import APPROVER_USER, OPERATOR_USER
from sandbox.moto_gaps import ALARM_EVENTS


def principal_user(by: str | None) -> str:
    """A scenario's principal: ``approver`` (default), ``operator``, or an IAM user name (with its path)."""
    return {None: APPROVER_USER, "": APPROVER_USER, "approver": APPROVER_USER, "operator": OPERATOR_USER}.get(by, by or "")


class Driver:
    def __init__(self, customer: str, config, client, timeline, wait_all, on_step=lambda: None, clients_as=None):
        self.customer, self.config, self.client, self.timeline = customer, config, client, timeline
        self.clients_as = clients_as or (lambda user: client)  # IAM user -> clients of the account, as that user
        self.wait_all = wait_all
        self.on_step = on_step  # a new scenario step begins (parked waits of earlier steps resume after it)
        self.bus = None  # the EventBus, set once deployed
        self.state_machines: dict = {}
        self._happened: dict = {}  # alarm -> the time of the newest raw alarm event the scenario delivered
        self._fired: dict = {}  # schedule rule -> the time of its last firing

    def set_mode(self, mode: str, announce: bool = True) -> None:
        ALARM_EVENTS.quiet = True  # the step delivers CloudTrail's event itself (or none, at setup)
        try:
            self.client("ssm").put_parameter(
                Name=naming.mode_parameter_name(self.customer), Value=mode, Type="String", Overwrite=True
            )
        finally:
            ALARM_EVENTS.quiet = False
        self.timeline.add("mode", f"mode switch {naming.mode_parameter_name(self.customer)} = {mode}")
        if announce and self.bus is not None:  # a step, not the initial setup: CloudTrail reports the call
            caller = self.client("sts").get_caller_identity()["Arn"]
            self.deliver(
                parameter_change_event(naming.mode_parameter_name(self.customer), caller, self.config.account, self.config.region)
            )

    def fire_alarm(self, name: str, state: str = "ALARM", deliveries: int = 1, reason: str | None = None) -> list:
        cw = self.client("cloudwatch")
        alarms = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if not alarms:
            raise ValueError(
                f"alarm {name!r} is not deployed; deployed alarms: "
                f"{', '.join(a['AlarmName'] for a in cw.describe_alarms()['MetricAlarms'])}"
            )
        previous = alarms[0]["StateValue"]
        reason = reason or f"Sandbox: threshold crossed ({state})"
        ALARM_EVENTS.quiet = True  # the step delivers the event itself (``deliveries`` times)
        try:
            cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)
        finally:
            ALARM_EVENTS.quiet = False
        alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        # stamped with the state's time, as CloudWatch stamps it (admit confirms the event with DescribeAlarms)
        event = alarm_event(
            alarm, state, previous, reason, self.config.account, self.config.region, at=alarm["StateUpdatedTimestamp"]
        )
        self.timeline.add("alarm", f"alarm {name}: {previous} -> {state}")
        return self.deliver(event, deliveries)

    def alarm_happened(self, event) -> bool:
        """A scenario's raw alarm event is a state change that happened: the alarm is put in its state, at its
        time (no event of its own), unless a newer one was delivered already (a late event stays late), so admit's
        DescribeAlarms confirms it as CloudWatch would. True when the alarm was set."""
        from moto.cloudwatch.models import cloudwatch_backends

        detail = event.get("detail") if isinstance(event, dict) else None
        state = detail.get("state") if isinstance(detail, dict) else None
        if (
            not isinstance(state, dict)
            or event.get("source") != "aws.cloudwatch"
            or state.get("value") not in ("OK", "ALARM", "INSUFFICIENT_DATA")
        ):
            return False
        try:
            at = TypeAdapter(datetime).validate_python(state.get("timestamp"))
        except ValueError:
            return False  # malformed: admit refuses it before it asks CloudWatch
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        alarm = cloudwatch_backends[self.config.account][self.config.region].alarms.get(detail.get("alarmName"))
        latest = self._happened.get(str(detail.get("alarmName")))
        if alarm is None or (latest is not None and at < latest):
            return False
        self._happened[alarm.name] = at
        alarm.state_value, alarm.state_reason = state["value"], str(state.get("reason") or "")
        alarm.state_updated_timestamp = at.astimezone(UTC).replace(tzinfo=None)  # moto keeps naive UTC
        return True

    def fire_schedule(self, runbook: str, deliveries: int = 1) -> list:
        """The runbook's schedule rule fires, as EventBridge would at its time (delivered ``deliveries`` times)."""
        events = self.client("events")
        name = naming.schedule_rule_name(self.customer, runbook)
        deployed = {r["Name"]: r for r in events.list_rules().get("Rules", []) if "ScheduleExpression" in r}
        if name not in deployed:
            schedules = ", ".join(f"{n} ({r['ScheduleExpression']})" for n, r in sorted(deployed.items()))
            raise ValueError(
                f"runbook {runbook!r} has no schedule deployed for customer {self.customer} (is it "
                f"switched off in customers/{self.customer}.yaml?); deployed schedules: {schedules or 'none'}"
            )
        self.timeline.add("schedule", f"schedule {name} fires ({deployed[name]['ScheduleExpression']})")
        # each firing at its own time (a Scheduled Event's time has whole seconds, and a firing is claimed by it):
        # two steps that fire the rule within the same second are two firings, not a redelivery of one
        at = datetime.now(UTC).replace(microsecond=0)
        if name in self._fired and at <= self._fired[name]:
            at = self._fired[name] + timedelta(seconds=1)
        self._fired[name] = at
        event = scheduled_event(deployed[name]["Arn"], self.config.account, self.config.region, at=at)
        return self.deliver(event, deliveries)

    def _service(self, service: str):
        if service not in [s.name for s in self.config.ecs.services]:
            raise ValueError(
                f"service {service!r} is not configured for customer {self.customer}; its services: "
                + ", ".join(s.name for s in self.config.ecs.services)
            )
        from moto.ecs.models import ecs_backends

        return ecs_backends[self.config.account][self.config.region].services[f"{self.config.ecs.cluster}:{service}"]

    def _running_tasks(self, service: str, count: int) -> list[str]:
        """``count`` RUNNING tasks of the service (moto runs none for a service by itself: started as the service
        would, group service:<name>)."""
        ecs, cluster = self.client("ecs"), self.config.ecs.cluster
        arns = ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING").get("taskArns", [])
        mine = (
            [
                t["taskArn"]
                for t in ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", [])
                if t.get("group") == f"service:{service}"
            ]
            if arns
            else []
        )
        if len(mine) < count:
            ec2 = self.client("ec2")
            subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
            group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
            started = ecs.run_task(
                cluster=cluster,
                taskDefinition=self._service(service).task_definition,
                launchType="FARGATE",
                count=count - len(mine),
                group=f"service:{service}",
                startedBy=f"ecs-svc/{abs(hash(service)) % 10**16:016d}",
                networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
            )
            mine += [t["taskArn"] for t in started["tasks"]]
        return mine[:count]

    def stop_tasks(
        self,
        service: str,
        count: int = 1,
        reason: str = "Essential container in task exited",
        stop_code: str | None = None,
        deliveries: int = 1,
    ) -> list:
        """``count`` of the service's tasks stop (moto StopTask), and ECS sends an "ECS Task State Change" for each.
        A planned stop (reason "Scaling activity initiated by ...") leaves the counts; any other leaves the service
        with fewer running tasks (ECS has not replaced them yet)."""
        svc = self._service(service)
        planned = reason.startswith(PLANNED_STOP_PREFIX)
        code = stop_code or ("ServiceSchedulerInitiated" if planned else "EssentialContainerExited")
        ecs = self.client("ecs")
        arns = self._running_tasks(service, count)
        ALARM_EVENTS.quiet = True  # the step delivers ECS's events itself (sandbox/moto_gaps.py: ecs_task_stops)
        try:
            tasks = [ecs.stop_task(cluster=self.config.ecs.cluster, task=arn, reason=reason)["task"] for arn in arns]
        finally:
            ALARM_EVENTS.quiet = False
        from sandbox.world.ecs_service import _set_counts

        desired = max(svc.desired_count - count, 0) if planned else svc.desired_count
        _set_counts(svc, desired, max(svc.running_count - count, 0))
        self.timeline.add(
            "ecs", f"{count} task(s) of {service} stop: {reason} ({code}); running {svc.running_count} of {svc.desired_count}"
        )
        results: list = []
        for task in tasks:
            results += self.deliver(
                ecs_task_stopped_event(task, self.config.account, self.config.region, stop_code=code), deliveries
            )
        return results

    def service_action(
        self,
        service: str,
        event_name: str = "SERVICE_TASK_START_IMPAIRED",
        event_type: str | None = None,
        reason: str | None = None,
        deliveries: int = 1,
    ) -> list:
        """ECS sends an "ECS Service Action" for the service (SERVICE_TASK_START_IMPAIRED: WARN; SERVICE_STEADY_STATE:
        INFO, and the service runs its desired tasks again)."""
        svc = self._service(service)
        kind = event_type or ("INFO" if event_name.endswith("STEADY_STATE") else "WARN")
        if event_name == "SERVICE_STEADY_STATE":
            from sandbox.world.ecs_service import _set_counts

            _set_counts(svc, svc.desired_count, svc.desired_count)
        c = self.config
        arn = f"arn:aws:ecs:{c.region}:{c.account}:service/{c.ecs.cluster}/{service}"
        cluster = f"arn:aws:ecs:{c.region}:{c.account}:cluster/{c.ecs.cluster}"
        self.timeline.add("ecs", f"ECS: {event_name} ({kind}) for {service}")
        return self.deliver(
            ecs_service_action_event(arn, cluster, event_name, c.account, c.region, event_type=kind, reason=reason), deliveries
        )

    def rds_event(self, event_id: str, message: str | None = None, deliveries: int = 1) -> list:
        """RDS sends an "RDS DB Cluster Event" for the customer's Aurora cluster (RDS-EVENT-0073 failover started,
        0071 completed, 0150 stopped, 0151 started ...)."""
        known = {**RDS_DOWN_EVENT_IDS, **RDS_UP_EVENT_IDS}
        if event_id not in known:
            raise ValueError(f"RDS event {event_id!r} is not one the automation watches; it watches: {', '.join(sorted(known))}")
        c = self.config
        category = "notification" if event_id in ("RDS-EVENT-0150", "RDS-EVENT-0151") else "failover"
        self.timeline.add("rds", f"RDS: {event_id} for {c.rds.cluster}: {message or known[event_id]}")
        return self.deliver(
            rds_cluster_event(c.rds.cluster, event_id, message or known[event_id], c.account, c.region, category=category),
            deliveries,
        )

    def deliver(self, event, deliveries: int = 1, wait: bool = True) -> list:
        """Deliver the event ``deliveries`` times concurrently, as EventBridge's retries may; unless ``wait`` is
        false, return once everything it started has finished."""
        self.on_step()
        label = event.get("detail-type", "event") if isinstance(event, dict) else "event"
        self.timeline.add("event", f"EventBridge delivers {label!r}" + (f" x{deliveries}" if deliveries > 1 else ""))
        per_delivery: list[list] = [[] for _ in range(deliveries)]

        def put(i: int) -> None:
            per_delivery[i] = self.bus.put(event)

        threads = [threading.Thread(target=put, args=(i,)) for i in range(deliveries)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results = [r for rs in per_delivery for r in rs]  # in delivery order, whatever the threads did
        if not results:
            self.timeline.add("event", "no rule matched the event: nothing started", depth=1)
        for r in results:
            if r.get("dead_lettered"):
                self.timeline.add("event", f"could not start {r['target']}: {r['error']}; sent to the DLQ", depth=1)
        if wait:
            self.wait_all()
        return results

    def start_runbook(self, runbook: str, payload) -> str:
        name = naming.state_machine_name(self.customer, runbook)
        if name not in self.state_machines:
            raise ValueError(f"no runbook {runbook!r}; deployed: {', '.join(self.state_machines)}")
        self.on_step()
        self.timeline.add("start", f"operator starts {name} with {json.dumps(payload)}")
        arn = self.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machines[name], input=json.dumps(payload), name=str(uuid.uuid4())
        )["executionArn"]
        self.wait_all()
        return arn

    def answer_approval(self, runbook: str, *, approve: bool, by: str | None = None, comment: str = "") -> dict:
        """Answer the oldest pending approval of ``runbook`` through operators/approvals.py, as the CLI does, as the
        IAM user ``by`` of the customer's account (``approver``: the named approver of the lecture-<c>-approver
        profile, the default; ``operator``: the lecture-<c>-prod operator, who is not one; else a user name, with
        its path: ``approvers/alice``)."""
        waiting = approvals.pending(self.client, self.config)
        mine = [p for p in waiting if p["runbook"] == runbook]
        if not mine:
            raise ValueError(
                f"no approval of {runbook!r} is pending; pending: "
                + (", ".join(f"{p['runbook']} ({p['execution']})" for p in waiting) or "none")
            )
        self.on_step()
        user = principal_user(by)
        clients = self.clients_as(user)
        arn = clients("sts").get_caller_identity()["Arn"]
        verb = "approves" if approve else "rejects"
        self.timeline.add("answer", f"{arn} {verb} {runbook} ({mine[0]['execution']})" + (f": {comment}" if comment else ""))
        try:
            sent = approvals.answer(clients, self.config, mine[0]["execution"], approve=approve, comment=comment)
        except approvals.ApprovalError as exc:
            self.timeline.add("answer", str(exc), depth=1)
            raise
        self.wait_all()
        return sent

    def wait_minutes(self, minutes: float, clock) -> None:
        self.on_step()
        timed_out = clock.advance(minutes * 60)
        self.timeline.add(
            "clock",
            f"{minutes:g} simulated minutes pass" + (f": {timed_out} wait(s) for an answer time out" if timed_out else ""),
        )
        self.wait_all()
