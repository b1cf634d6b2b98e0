"""Prometheus metrics of one service: requests and latency per route, time per detector,
and jobs by state (read from the store when scraped, so every server sharing a database
reports the same queue)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from tamis.results import ScanResult

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _JobCollector:
    def __init__(self, jobs) -> None:
        self.jobs = jobs

    def collect(self):
        g = GaugeMetricFamily("tamis_jobs", "Jobs in the store, by state", labels=["status"])
        try:
            counts = self.jobs.counts()
        except Exception:  # noqa: BLE001 - a scrape never fails for a busy database
            counts = {}
        for status, n in counts.items():
            g.add_metric([status], n)
        yield g
        q = GaugeMetricFamily("tamis_queue_depth", "Jobs waiting for a worker")
        q.add_metric([], counts.get("queued", 0))
        yield q


class Metrics:
    def __init__(self, jobs) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("tamis_http_requests", "HTTP requests answered", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("tamis_http_request_seconds", "Time to answer a request", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.detector = Histogram("tamis_detector_seconds", "Time a detector (or step) took on one input",
                                  ["step"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.decisions = Counter("tamis_decisions", "Inputs scanned, by decision", ["action"],
                                 registry=self.registry)
        self.text_batch = Histogram("tamis_text_batch_size", "Texts scanned together from concurrent requests",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=self.registry)
        self.registry.register(_JobCollector(jobs))

    def observe_result(self, result: ScanResult) -> None:
        self.decisions.labels(result.action).inc()
        for step, ms in result.timings_ms.items():
            self.detector.labels(step).observe(ms / 1000)
