"""The AWS target: Lambda, EventBridge Scheduler, IAM, CloudWatch Logs."""
