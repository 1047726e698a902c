"""page: tell the on-call. PagerDuty Events v2 (dedup_key per alarm) plus an SNS status update.

Severities follow the runbook's matrix: P0/P1 page as critical/error, P2 as warning, P3 is a status update
only (no PagerDuty request at all). Each page goes to the routing key of the decision's team
(paging.teams) and names the team. When PagerDuty still fails after its retries, a page saying so is
published to the status topic (message attribute kind=page-fallback) before the error is raised."""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities import parameters
from pydantic import ValidationError

from catalog import CustomerConfig, Severity, naming
from catalog.customer import pagerduty_url_problem
from catalog.kinds import KINDS, alarm_console_url, execution_console_url
from lambdas import aws
from lambdas.errors import ConfigurationError, PagerDutyError
from lambdas.logic import pagerduty, status_update
from lambdas.logic.errors_text import explain
from lambdas.models.steps import Alert, Decision, Outcome
from lambdas.observability import SERVICE
from lambdas.settings import Settings

Sender = Callable[[dict[str, Any], str], dict[str, Any]]


class Pager:
    """Everything a page needs, injected: clients, the routing key reader, the clock.

    Status updates are published before PagerDuty is called: when PagerDuty is what fails, the
    topic's subscribers still hear of the incident."""

    def __init__(
        self,
        *,
        config: CustomerConfig,
        sns: Any,
        topic_arn: str,
        events_url: str,
        routing_key: Callable[[str], str],
        now: datetime,
        send: Sender = pagerduty.send,
        execution: str = "",
    ):
        """routing_key(team) -> that team's key; execution: the respond execution's name (its console link)."""
        self.config, self.sns, self.topic_arn, self.events_url = config, sns, topic_arn, events_url
        self._key_of, self.now, self._send, self.execution = routing_key, now, send, execution
        self.team = "infrastructure"  # the team of the page being sent: each public method sets it

    @classmethod
    def from_settings(cls, settings: Settings, now: datetime, execution: str = "") -> "Pager":
        """Wired from the function's environment; the routing key is read from Secrets Manager, and only
        after the URL it goes to was checked to be PagerDuty's own."""
        problem = pagerduty_url_problem(settings.pagerduty_events_url)
        if problem:
            raise ConfigurationError(f"refusing to page: {problem}")

        def routing_key(team: str) -> str:
            try:
                secret = settings.customer.paging.team_secret(team)
            except KeyError as exc:
                raise ConfigurationError(f"refusing to page: {exc.args[0]}") from None
            return str(parameters.get_secret(secret, max_age=300))

        return cls(
            config=settings.customer,
            sns=aws.client("sns"),
            topic_arn=settings.topic_arn,
            events_url=settings.pagerduty_events_url,
            routing_key=routing_key,
            now=now,
            execution=execution,
        )

    @property
    def group(self) -> str:
        return naming.group(self.config.customer)

    def _routing_key(self) -> str:
        return self._key_of(self.team)

    def _post(self, event: dict[str, Any], url: str | None = None) -> dict[str, Any]:
        """Send; when PagerDuty still fails after its retries, publish a page that says so to the topic
        (with the summary that could not be sent), then raise: the execution fails loudly as before."""
        try:
            answer = self._send(event, url or self.events_url)
        except PagerDutyError as exc:
            self._fallback(event, str(exc))
            raise
        _count_page("change" if "event_action" not in event else str(event["event_action"]))
        return answer

    def _note(self, event: dict[str, Any], url: str | None = None) -> str | None:
        """Send a note that nothing waits on (an approval's request or its resolve, a runbook's outcome told to a
        team): when PagerDuty still fails after its retries, the page-fallback is published (``_post``) and the
        failure is returned, not raised. The approval's own path (table, SNS, CLI) does not need PagerDuty."""
        try:
            self._post(event, url)
        except PagerDutyError as exc:
            return str(exc)
        return None

    def _fallback(self, event: dict[str, Any], error: str) -> None:
        if not self.topic_arn:
            return
        payload = event.get("payload") or {}
        kind = "change" if "event_action" not in event else str(event["event_action"])
        summary = str(payload.get("summary") or f"{kind} of {event.get('dedup_key')}")
        severity = _severity_of(payload.get("severity"))
        text = "\n".join(
            [
                f"PAGE NOT DELIVERED: PagerDuty failed ({error}).",
                f"Team: {self.team}",
                f"Kind: {kind}",
                f"Dedup key: {event.get('dedup_key', '-')}",
                f"Summary: {summary}",
                "The on-call must be told by other means (phone, Slack).",
            ]
        )
        self.sns.publish(
            TopicArn=self.topic_arn,
            Subject=f"PAGE NOT DELIVERED: {summary}"[: status_update.SUBJECT_MAX],
            Message=text,
            MessageAttributes=status_update.attributes(
                customer=self.config.customer, severity=severity, status="page-fallback", team=self.team, kind="page-fallback"
            ),
        )

    def _status(self, incident_id: str, severity: str = "", **fields: Any) -> None:
        if not self.topic_arn:
            return
        text = status_update.message(
            incident_id=incident_id,
            customers=[self.config.customer],
            contact=self.config.paging.on_call_contact,
            now=self.now,
            **fields,
        )
        status_update.publish(
            self.sns,
            self.topic_arn,
            incident_id,
            text,
            attributes=status_update.attributes(
                customer=self.config.customer,
                severity=severity,
                status=str(fields.get("status", "")),
                team=self.team,
                kind="status-update",
            ),
        )

    def _links(self, admit: Decision | None = None, alarm: str | None = None) -> list[dict[str, str]]:
        """Console deep links: the alarm, the resource (when its kind has a console page), the execution."""
        c, links = self.config, []
        alarm = alarm or (admit.alarm if admit and admit.condition != "schedule" else None)
        if alarm:
            links.append(pagerduty.link(alarm_console_url(c, alarm), f"CloudWatch alarm {alarm}"))
        kind = KINDS.get(admit.kind) if admit else None
        if admit and kind and kind.console_url:
            links.append(pagerduty.link(kind.console_url(c, admit.target), f"{kind.title} {admit.target}"))
        if self.execution:
            links.append(
                pagerduty.link(execution_console_url(c, "respond", self.execution), f"Step Functions execution {self.execution}")
            )
        return links

    def trigger_alarm(self, admit: Decision, diagnosis: dict[str, Any], outcome: Outcome | None = None) -> dict[str, Any]:
        """The alarm's page. ``outcome``: a runbook that ran before the page (a safety net) and how it ended."""
        sev, self.team = Severity(admit.severity), admit.team
        done = f"; {outcome.outcome}: {outcome.message}" if outcome else ""
        summary = f"[{sev.value}] {self.group} {admit.target}: {admit.description} - {admit.note}{done}"
        remediate = admit.decision == "remediate" and outcome is None
        status = "Identified" if remediate else "Investigating"
        self._status(
            _incident(admit),
            sev.value,
            status=status,
            impact=admit.impact,
            identified_at=admit.state_timestamp,
            actions=f"{admit.note}{done}",
            eta="automatic remediation running" if remediate else "awaiting on-call",
        )
        if sev == Severity.P3:  # the runbook's matrix: next business day, by email; never a page
            quiet: dict[str, Any] = {
                "sent": "status-update",
                "dedup_key": admit.dedup_key,
                "summary": summary,
                "team": self.team,
                "status_update": status,
            }
            return {**quiet, "outcome": outcome.outcome} if outcome else quiet
        event = pagerduty.trigger_event(
            self._routing_key(),
            admit.dedup_key,
            summary=summary,
            source=f"{self.group}/{admit.target}",
            severity=sev.pagerduty_severity,
            timestamp=admit.state_timestamp,
            component=admit.target,
            group=self.group,
            event_class=admit.condition,
            custom_details={
                "incident_id": admit.incident_id,
                "priority": sev.value,
                "priority_meaning": sev.description,
                "response_time": sev.response_time,
                "escalation": sev.escalation,
                "team": self.team,
                "alarm": admit.alarm,
                "alarm_reason": admit.reason,
                "mode": admit.mode,
                "mode_note": admit.mode_note or None,
                "automation": admit.note,
                "diagnosis": diagnosis,
                **({"automation_outcome": outcome.to_json()} if outcome else {}),
                **({"security_event": admit.security_event} if admit.security_event else {}),
                **({"service_event": admit.service_event} if admit.service_event else {}),
            },
            links=self._links(admit),
        )
        answer = self._post(pagerduty.trim(event))
        sent: dict[str, Any] = {
            "sent": "trigger",
            "dedup_key": admit.dedup_key,
            "pagerduty": answer,
            "summary": summary,
            "team": self.team,
            "status_update": status,  # the runbook's status update sent with it (the incident's record)
        }
        return {**sent, "outcome": outcome.outcome} if outcome else sent

    def resolve(self, admit: Decision, restore: Outcome | None = None) -> dict[str, Any]:
        # what the runbook's on-resolve step will undo, and when (e.g. the autoscaling floor going back)
        actions = f"{admit.note}; {restore.message}" if restore and restore.message else admit.note
        self.team = admit.team
        self._status(
            _incident(admit),
            admit.severity,
            status="Resolved",
            impact="none: the alarm returned to OK",
            identified_at=admit.opened_at or admit.state_timestamp,
            actions=actions,
            eta="resolved",
            next_update_minutes=None,
        )
        if admit.severity == Severity.P3:  # never paged: nothing to resolve in PagerDuty
            return {"sent": "status-update", "dedup_key": admit.dedup_key, "team": self.team, "status_update": "Resolved"}
        answer = self._post(pagerduty.resolve_event(self._routing_key(), admit.dedup_key))
        return {
            "sent": "resolve",
            "dedup_key": admit.dedup_key,
            "pagerduty": answer,
            "team": self.team,
            "status_update": "Resolved",
        }

    def outcome(
        self,
        admit: Decision,
        outcome: Outcome,
        *,
        needs_person: bool,
        resolved: bool = False,
        already_paged: bool = False,
        quiet: bool = False,
        escalate: bool = False,
    ) -> dict[str, Any]:
        """After the runbook: a status update; page again (same alert) when a person must act, unless the alarm
        was resolved meanwhile (a trigger would reopen the resolved alert) or the page carried this outcome
        already. quiet (a scheduled run): nothing at all unless a person must act. escalate (the runbook failed or
        timed out): one step up the matrix (P2 -> P1), even when the page carried the outcome."""
        message = str(outcome.message or outcome.outcome)
        self.team = admit.team
        if quiet and not needs_person:
            return {"sent": None}
        if resolved:
            self._status(
                _incident(admit),
                admit.severity,
                status="Resolved",
                impact="none: the alarm returned to OK",
                identified_at=admit.state_timestamp,
                actions=f"{message} (the alarm was resolved while the automation ran; not paged again)",
                eta="resolved",
                next_update_minutes=None,
            )
            return {"sent": None}
        self._status(
            _incident(admit),
            admit.severity,
            status="Identified" if needs_person else "Monitoring",
            impact=admit.impact,
            identified_at=admit.state_timestamp,
            actions=message,
            eta="on-call to act" if needs_person else "monitoring until the alarm clears",
        )
        if not needs_person or (already_paged and not escalate) or admit.severity == Severity.P3:  # P3: status only
            return {"sent": None}
        sev, why = Severity(admit.severity), ""
        if escalate and sev.escalated != sev:
            sev, why = sev.escalated, f" (escalated from {sev.value}: the runbook ended {outcome.outcome})"
        summary = f"[{sev.value}] {self.group} {admit.target}: automation {outcome.outcome}{why} - {message}"
        event = pagerduty.trigger_event(
            self._routing_key(),
            admit.dedup_key,
            summary=summary,
            source=f"{self.group}/{admit.target}",
            severity=sev.pagerduty_severity,
            component=admit.target,
            group=self.group,
            event_class=admit.condition,
            custom_details={
                "incident_id": admit.incident_id,
                "team": self.team,
                "outcome": outcome.to_json(),
                "priority": sev.value,
                **({"escalated_from": admit.severity} if why else {}),
            },
            links=self._links(admit),
        )
        return {
            "sent": "trigger",
            "dedup_key": admit.dedup_key,
            "pagerduty": self._post(event),
            "summary": summary,
            "team": self.team,
        }

    def change(self, admit: Decision, outcome: Outcome) -> dict[str, Any]:
        """A change the automation made (a scale, a snapshot, a backup): a PagerDuty change event, on the
        service's timeline; it notifies no one. None for a P3 incident: P3 makes no PagerDuty request."""
        self.team = admit.team
        if admit.severity == Severity.P3:
            return {"sent": None}
        summary = f"{self.group} {admit.target}: {admit.runbook} {outcome.outcome} - {outcome.message or outcome.outcome}"
        event = pagerduty.change_event(
            self._routing_key(),
            summary=summary,
            source=f"{self.group}/{admit.target}",
            timestamp=self.now.isoformat(),
            custom_details={
                "incident_id": admit.incident_id,
                "runbook": admit.runbook,
                "team": self.team,
                "outcome": outcome.outcome,
                "trigger": admit.condition,
                "execution": self.execution,
            },
            links=self._links(admit),
        )
        answer = self._post(event, pagerduty.change_url(self.events_url))
        return {"sent": "change", "summary": summary, "pagerduty": answer, "team": self.team}

    def maintenance(
        self,
        *,
        incident_id: str,
        workflow: str,
        services: list[str],
        status: str,
        summary: str,
        details: dict[str, Any],
        eta: str | None = None,
        next_update_minutes: int | None = 30,
    ) -> dict[str, Any]:
        """A maintenance window is booked, reminded of, starts or ends: a status update and a PagerDuty change event
        (it notifies no one; the services' alarms are held at P3 while the window is open)."""
        self.team = "infrastructure"
        self._status(
            incident_id,
            status=status,
            impact=f"planned maintenance of {', '.join(services)}",
            identified_at=self.now.isoformat(),
            actions=summary,
            eta=eta or ("window closed" if status == "Resolved" else "end of the maintenance window"),
            next_update_minutes=None if status == "Resolved" else next_update_minutes,
        )
        links = (
            [
                pagerduty.link(
                    execution_console_url(self.config, workflow, self.execution), f"Step Functions execution {self.execution}"
                )
            ]
            if self.execution
            else []
        )
        event = pagerduty.change_event(
            self._routing_key(),
            summary=f"{self.group} {summary}",
            source=f"{self.group}/{workflow}",
            timestamp=self.now.isoformat(),
            custom_details={**details, "incident_id": incident_id, "team": self.team, "execution": self.execution},
            links=links or None,
        )
        answer = self._post(event, pagerduty.change_url(self.events_url))
        return {"sent": "change", "summary": event["payload"]["summary"], "pagerduty": answer, "team": self.team}

    def escalate(
        self, admit: Decision, *, alarm_state: str, minutes: int, done: str, window: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The alarm is still in ALARM ``minutes`` after the runbook succeeded: the same alert, one step up. Not
        while a maintenance window is open on the resource (``window``, its row): the window holds its alarms at
        P3, so a status update says so and the alert stays as paged, for the OK to resolve."""
        sev, self.team = Severity(admit.severity), admit.team
        up = sev.escalated
        if window:
            held = (
                f"not escalated: {admit.alarm} is still {alarm_state} {minutes} min after {admit.runbook} "
                f"succeeded ({done}), but a maintenance window is open on {admit.target} (execution "
                f"{window.get('execution')}, until {window.get('expires')}): its alarms are held at P3; the "
                f"{sev.value} alert stays open until the alarm returns to OK"
            )
            self._status(
                _incident(admit),
                severity=sev.value,
                status="Monitoring",
                impact=admit.impact,
                identified_at=admit.state_timestamp,
                actions=held,
                eta="end of the maintenance window",
            )
            return {"sent": "status-update", "dedup_key": admit.dedup_key, "held": held}
        why = (
            f"escalated from {sev.value} to {up.value}: {admit.alarm} is still {alarm_state} {minutes} min after "
            f"{admit.runbook} succeeded ({done})"
        )
        self._status(
            _incident(admit),
            severity=up.value,
            status="Identified",
            impact=admit.impact,
            identified_at=admit.state_timestamp,
            actions=why,
            eta="on-call to act",
        )
        event = pagerduty.trigger_event(
            self._routing_key(),
            admit.dedup_key,
            summary=f"[{up.value}] {self.group} {admit.target}: {why}",
            source=f"{self.group}/{admit.target}",
            severity=up.pagerduty_severity,
            component=admit.target,
            group=self.group,
            event_class=admit.condition,
            custom_details={
                "incident_id": admit.incident_id,
                "team": self.team,
                "priority": up.value,
                "escalated_from": sev.value,
                "alarm": admit.alarm,
                "alarm_state": alarm_state,
                "runbook_outcome": done,
            },
            links=self._links(admit),
        )
        return {"sent": "trigger", "dedup_key": admit.dedup_key, "pagerduty": self._post(event), "escalated_to": up.value}

    def alerts(self, admit: Decision, alerts: list[Alert]) -> list[str]:
        """A runbook's own alerts (e.g. one per stale lock): P0-P2 to PagerDuty on their own dedup keys, P3 as a
        status update only (the runbook's matrix: next business day, by email). Returns what was sent."""
        sent = []
        self.team = admit.team
        for alert in alerts:
            dedup = naming.dedup_key(self.config.customer, alert.key)
            if alert.severity == Severity.P3:
                if alert.action == "trigger":
                    self._status(
                        f"{_incident(admit)}-{alert.key}"[:200],
                        alert.severity,
                        status="Identified",
                        impact=f"P3 ({Severity.P3.response_time}): {alert.summary}",
                        identified_at=self.now.isoformat(),
                        actions=admit.note,
                        eta="on-call to act",
                    )
                    sent.append(f"status-update P3 {alert.key}")
                continue
            if alert.action == "resolve":
                self._post(pagerduty.resolve_event(self._routing_key(), dedup))
            else:
                sev = Severity(alert.severity)
                self._post(
                    pagerduty.trigger_event(
                        self._routing_key(),
                        dedup,
                        summary=f"[{sev.value}] {self.group} {alert.summary}",
                        source=f"{self.group}/{admit.target}",
                        severity=sev.pagerduty_severity,
                        component=admit.target,
                        group=self.group,
                        event_class=admit.runbook or admit.condition,
                        custom_details={
                            **alert.details,
                            "incident_id": admit.incident_id,
                            "priority": sev.value,
                            "response_time": sev.response_time,
                            "runbook": admit.runbook,
                            "team": self.team,
                        },
                        links=self._links(admit),
                    )
                )
            sent.append(f"{alert.action} {alert.severity} {alert.key}")
        return sent

    def approval_request(
        self, *, runbook: str, execution: str, summary: str, expires: str, how: dict[str, str]
    ) -> dict[str, Any]:
        """Tell the approvers (infrastructure) what waits for them: a status update and a low-urgency PagerDuty
        note (severity info), on its own dedup key, resolved once answered."""
        self.team = "infrastructure"
        incident = f"{self.config.customer}-approval-{execution}"[:200]
        console = execution_console_url(self.config, runbook, execution)
        actions = (
            f"approval needed before {runbook} acts: {summary}. Approve: {how['approve']}. "
            f"Reject: {how['reject']}. Console: {console}. No answer by {expires} is a rejection."
        )
        self._status(
            incident,
            "P3",
            status="Identified",
            impact=f"waiting for approval: {summary}"[:500],
            identified_at=self.now.isoformat(),
            actions=actions,
            eta=f"answer by {expires}",
        )
        event = pagerduty.trigger_event(
            self._routing_key(),
            naming.dedup_key(self.config.customer, f"approval/{execution}"),
            summary=f"[approval] {self.group} {runbook}: {summary}",
            source=f"{self.group}/{runbook}",
            severity="info",
            group=self.group,
            event_class="approval",
            custom_details={
                "runbook": runbook,
                "execution": execution,
                "what": summary,
                "expires": expires,
                "approve": how["approve"],
                "reject": how["reject"],
                "team": self.team,
            },
            links=[pagerduty.link(console, f"Step Functions execution {execution}")],
        )
        error = self._note(event)
        return {"sent": "trigger" if error is None else None, "team": self.team, **({"error": error} if error else {})}

    def approval_answered(self, *, runbook: str, execution: str, text: str) -> dict[str, Any]:
        """The answer closes the note (resolve) and is told in a status update. A resolve PagerDuty does not take
        is reported (the page-fallback, ``error``), never fatal: the answer stands, the runbook goes on."""
        self.team = "infrastructure"
        self._status(
            f"{self.config.customer}-approval-{execution}"[:200],
            "P3",
            status="Resolved",
            impact=text[:500],
            identified_at=self.now.isoformat(),
            actions=text,
            eta="-",
        )
        error = self._note(
            pagerduty.resolve_event(self._routing_key(), naming.dedup_key(self.config.customer, f"approval/{execution}"))
        )
        return {"sent": "resolve" if error is None else None, "team": self.team, **({"error": error} if error else {})}

    def security_refusal(self, *, subject: str, summary: str, details: dict[str, Any]) -> dict[str, Any]:
        """Something asked for a change it had no proof for (a direct invoke of act, a forged answer, an answer by
        someone who may not give it): refused, and the security team paged, like a mode switch change."""
        self.team = "security"
        incident = f"{self.config.customer}-refused-{subject}"[:200]
        self._status(
            incident,
            "P2",
            status="Investigating",
            impact=summary[:500],
            identified_at=self.now.isoformat(),
            actions=f"refused, nothing was changed: {summary}",
            eta="the security team looks into it",
        )
        event = pagerduty.trigger_event(
            self._routing_key(),
            naming.dedup_key(self.config.customer, f"refused/{subject}"[:200]),
            summary=f"[security] {self.group}: {summary}",
            source=f"{self.group}/{subject}"[:255],
            severity="error",
            group=self.group,
            event_class="approval_refused",
            custom_details={**details, "team": self.team},
        )
        return {"sent": "trigger", "pagerduty": self._post(event), "team": self.team}

    def held_back(self, *, runbook: str, execution: str, incident_id: str | None, summary: str) -> None:
        """A change a person approved was not made, because the mode switch is stricter now than when it was asked
        for: a status update says it was skipped, so nobody takes the approval for the change."""
        self.team = "infrastructure"
        self._status(
            (incident_id or f"{self.config.customer}-{runbook}-{execution}")[:200],
            "P3",
            status="Identified",
            impact=f"{runbook} was skipped: nothing was changed",
            identified_at=self.now.isoformat(),
            actions=summary[:1000],
            eta="start it again once the mode switch allows it",
            next_update_minutes=None,
        )

    def runbook_outcome(
        self, *, runbook: str, execution: str, outcome: Outcome, approved: str, teams: tuple[str, ...]
    ) -> list[str]:
        """A runbook's outcome, told to each declared team: a change event (who approved it) and a status update.
        A change event PagerDuty does not take is reported (the page-fallback; "change <team> not sent: ..."), not
        fatal: the change was made and recorded already."""
        sent = []
        summary = f"{self.group} {runbook} {outcome.outcome}: {outcome.message or outcome.outcome}; {approved}"
        for team in teams:
            self.team = team
            self._status(
                f"{self.config.customer}-{runbook}-{execution}"[:200],
                "P3",
                status="Resolved",
                impact=summary[:500],
                identified_at=self.now.isoformat(),
                actions=summary,
                eta="-",
            )
            event = pagerduty.change_event(
                self._routing_key(),
                summary=summary,
                source=f"{self.group}/{runbook}",
                timestamp=self.now.isoformat(),
                custom_details={
                    "runbook": runbook,
                    "execution": execution,
                    "outcome": outcome.outcome,
                    "approved": approved,
                    "team": team,
                },
                links=[
                    pagerduty.link(
                        execution_console_url(self.config, runbook, execution), f"Step Functions execution {execution}"
                    )
                ],
            )
            error = self._note(event, pagerduty.change_url(self.events_url))
            sent.append(f"change {team}" if error is None else f"change {team} not sent: {error}")
        return sent

    def automation_failed(self, state: dict[str, Any], execution: str) -> dict[str, Any]:
        # Read leniently: when admit itself failed there is no decision, and this page must still go out.
        given = state.get("admit")
        admit: dict[str, Any] = given if isinstance(given, dict) else {}
        name, message = explain(state.get("error"))
        team = admit.get("team")
        self.team = team if isinstance(team, str) and team in self.config.paging.teams else "infrastructure"
        dedup = admit.get("dedup_key") or naming.dedup_key(self.config.customer, f"automation/{_event_key(state)}")
        incident = admit.get("incident_id") or f"{self.config.customer}-automation-{execution}"
        subject = f"{admit.get('target')} " if admit.get("target") else ""
        summary = f"[P1] {self.group} {subject}automation failed: {name}: {message}"
        # The status update goes first: if PagerDuty (or its key) is what failed, subscribers still hear of it.
        self._status(
            incident,
            Severity.P1.value,
            status="Investigating",
            impact=admit.get("impact") or "unknown: the automation failed",
            identified_at=self.now.isoformat(),
            actions=f"automation failed ({name}): {message}",
            eta="on-call to act",
        )
        event = pagerduty.trigger_event(
            self._routing_key(),
            dedup,
            summary=summary,
            source=f"{self.group}/remediation",
            severity=Severity.P1.pagerduty_severity,
            group=self.group,
            event_class="automation-failed",
            custom_details={
                "incident_id": incident,
                "execution": execution,
                "error": name,
                "message": message,
                "alarm": admit.get("alarm"),
                "team": self.team,
            },
            links=self._links(
                alarm=admit.get("alarm") if isinstance(admit.get("alarm"), str) and admit.get("condition") != "schedule" else None
            ),
        )
        answer = self._post(event)
        sent = {"sent": "trigger", "dedup_key": dedup, "pagerduty": answer, "summary": summary, "team": self.team}
        raw = _event_of(state)
        from lambdas.logic.security import is_cloudtrail  # the failure path only: runbooks' functions stay lean

        if not admit and is_cloudtrail(raw):  # admit could not read an event of a security rule
            sent["security"] = self.security_unreadable(raw, f"{name}: {message}", execution)
        return sent

    def security_unreadable(self, event: dict[str, Any], error: str, execution: str) -> dict[str, Any]:
        """An event from a security rule that admit could not read goes to the security team too (at the kind's
        severity, P1 by default) with who, what and where as far as they can be read. A PagerDuty failure here is
        reported (the page-fallback), not raised: the infrastructure page went out already."""
        from lambdas.logic.security import unreadable

        info = unreadable(event, error)
        self.team = info["team"] if info["team"] in self.config.paging.teams else "infrastructure"
        sev = Severity(info["severity"] or Severity.P1)
        key = f"security/unreadable/{_event_key(event)}"
        summary = (
            f"[{sev.value}] {self.group} {info['title']} - the event could not be read whole ({error[:300]}); "
            f"what could be read: {info['sentence']}"
        )
        incident = f"{self.config.customer}-security-unreadable-{execution}"[:200]
        self._status(
            incident,
            sev.value,
            status="Investigating",
            impact=f"security: {summary}"[:500],
            identified_at=self.now.isoformat(),
            actions="a person judges the event in CloudTrail",
            eta="security team to act",
        )
        page = pagerduty.trigger_event(
            self._routing_key(),
            naming.dedup_key(self.config.customer, key),
            summary=summary,
            source=f"{self.group}/security",
            severity=sev.pagerduty_severity,
            group=self.group,
            event_class=info["kind"] or "security-event",
            custom_details={
                "incident_id": incident,
                "execution": execution,
                "team": self.team,
                "error": info["error"],
                "security_event": {k: info[k] for k in ("kind", "who", "what", "where")},
            },
        )
        error_sent = self._note(page)
        return {
            "sent": "trigger" if error_sent is None else None,
            "team": self.team,
            **({"error": error_sent} if error_sent else {}),
        }


def _event_of(state: dict[str, Any]) -> dict[str, Any]:
    """The event respond was started with: its state without what the workflow added."""
    return {k: v for k, v in state.items() if k not in ("admit", "error", "page", "page_error", "record")}


def _count_page(kind: str) -> None:
    """One pages_sent metric per request PagerDuty accepted (the overview dashboard's "pages sent"), in its own
    EMF document so its ``kind`` dimension does not attach to the handler's other metrics."""
    with single_metric(
        name=naming.PAGES_SENT_METRIC,
        unit=MetricUnit.Count,
        value=1,
        namespace=naming.METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name="kind", value=kind)


def outcome_of(raw: object) -> Outcome:
    """A runbook's output as it came; unreadable counts as no outcome ("unknown" needs a person)."""
    try:
        return Outcome.model_validate(raw) if isinstance(raw, dict) else Outcome()
    except ValidationError:
        return Outcome()


def _severity_of(pagerduty_severity: object) -> str:
    """critical -> P0 ... (the fallback's severity attribute); unknown -> ""."""
    return next((s.value for s in Severity if s.pagerduty_severity == pagerduty_severity), "")


def _incident(admit: Decision) -> str:
    # a decision that reaches a page always names its incident (only a duplicate's holder can be unknown)
    return admit.incident_id or f"{admit.customer}-{admit.alarm}"


def _event_key(state: dict[str, Any]) -> str:
    """What stays the same across redeliveries of one event: its id, else a hash of the event itself."""
    event = _event_of(state)
    event_id = event.get("id")
    if isinstance(event_id, str) and 0 < len(event_id) <= 64 and all(c.isalnum() or c in "-_" for c in event_id):
        return f"event-{event_id}"
    digest = hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"event-sha256-{digest}"
