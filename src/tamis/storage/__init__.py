"""What the service stores: jobs and their results, API keys, the audit log (SQLAlchemy,
SQLite by default, PostgreSQL by URL), and uploads by SHA-256 in the data folder."""

from tamis.storage.blobs import BlobStore
from tamis.storage.db import Database
from tamis.storage.jobs import Job, JobStatus, JobStore
from tamis.storage.keys import ApiKey, KeyStore
from tamis.storage.webhooks import Delivery, DeliveryStore

__all__ = ["ApiKey", "BlobStore", "Database", "Delivery", "DeliveryStore", "Job", "JobStatus", "JobStore", "KeyStore"]
