"""What the service stores: jobs and their results, API keys, review items and reviewers, the audit log (SQLAlchemy,
SQLite by default, PostgreSQL by URL), and uploads by SHA-256 in the data folder."""

from tamis.storage.blobs import BlobStore
from tamis.storage.db import Database
from tamis.storage.jobs import Job, JobStatus, JobStore
from tamis.storage.keys import ApiKey, KeyStore
from tamis.storage.review import ClaimLost, ReviewItem, ReviewStore
from tamis.storage.reviewers import Reviewer, ReviewerError, ReviewerStore, SignedIn
from tamis.storage.webhooks import Delivery, DeliveryStore

__all__ = ["ApiKey", "BlobStore", "ClaimLost", "Database", "Delivery", "DeliveryStore", "Job", "JobStatus", "JobStore",
           "KeyStore", "ReviewItem", "ReviewStore", "Reviewer", "ReviewerError", "ReviewerStore", "SignedIn"]
