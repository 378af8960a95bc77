"""The GCP target: Cloud Functions (2nd gen), Cloud Scheduler, Secret Manager, Cloud Logging."""
