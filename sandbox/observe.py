"""Feeding the timeline: after each Lambda invocation, the AWS changes, pages and status updates that
happened since the one before are shown under it; finished executions are noted once."""

import json
import threading

from sandbox.executions import TERMINAL


class StatusUpdates:
    """SNS status updates, read back through a real SQS subscription as an email subscriber gets them."""

    def __init__(self, client, topic_arn: str):
        self.client, self.topic_arn = client, topic_arn
        sqs = client("sqs")
        self.queue_url = sqs.create_queue(QueueName="sandbox-status-updates")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.received: list[dict] = []
        self._lock = threading.Lock()

    def drain(self) -> list[dict]:
        """The updates that arrived since the last drain (also appended to ``received``)."""
        sqs = self.client("sqs")
        fresh = []
        with self._lock:
            while True:
                msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
                if not msgs:
                    break
                for m in msgs:
                    body = json.loads(m["Body"])
                    attributes = {k: v.get("Value") for k, v in (body.get("MessageAttributes") or {}).items()}
                    fresh.append(
                        {
                            "topic": body.get("TopicArn"),
                            "subject": body.get("Subject"),
                            "message": body.get("Message"),
                            "attributes": attributes,
                        }
                    )
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            self.received.extend(fresh)
        return fresh


class Observer:
    def __init__(self, timeline, recorder, pagerduty, executions, updates=lambda: []):
        self.timeline, self.recorder, self.pagerduty, self.executions = timeline, recorder, pagerduty, executions
        self.updates = updates  # () -> the StatusUpdates of every deployed customer
        self._pages_seen = self._actions_seen = 0
        self._pending_notes: list = []
        self._noted: set = set()
        self._lock = threading.RLock()  # invocations end concurrently

    def on_invoke(self, function: str, event, result, error, seconds: float) -> None:
        with self._lock:
            pages = self._fresh_pages()
            self._take_notifications()
            self.timeline.lambda_call(function, event, result, error, seconds)
            for action in self._fresh_actions():
                self.timeline.action(action)
            for req in pages:
                self.timeline.page(req)
            for note in self._pending_notes:
                self.timeline.notification(note)
            self._pending_notes = []

    def catch_up(self) -> None:
        """Bring the timeline up to date once everything is idle."""
        with self._lock:
            self._take_notifications()
            for e in self.executions.all():
                if e["status"] in TERMINAL and e["arn"] not in self._noted:
                    self._noted.add(e["arn"])
                    self.timeline.execution(e)

    def _take_notifications(self) -> None:
        for updates in self.updates():
            self._pending_notes += updates.drain()

    def _fresh_pages(self) -> list:
        requests = self.pagerduty.requests
        fresh, self._pages_seen = requests[self._pages_seen :], len(requests)
        return fresh

    def _fresh_actions(self) -> list:
        actions = self.recorder.actions
        fresh, self._actions_seen = actions[self._actions_seen :], len(actions)
        return fresh
