"""The kopf operator: JobQueue, WorkerPool and Schedule resources onto Redis and Deployments."""
