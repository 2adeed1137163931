"""Cron schedules: expressions, schedule specs, their Redis operations and the scheduler loop."""
