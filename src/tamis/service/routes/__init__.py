"""The service's routes, one module per group: scan, jobs, moderations (OpenAI's API), ops."""
