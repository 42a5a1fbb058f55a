"""Airflow cluster policy for tests/integration/airflow.bats (copied into the
test's AIRFLOW_HOME/config): runs the example DAG unchanged but on test time.

- retries wait 0 s instead of the DAG's minutes (`dags test` really waits);
- PIPEKIT_TEST_RETRIES=N: tasks that retry get N retries (the DAG's 3 by default);
- PIPEKIT_TEST_TIMEOUT_<TASK_ID>=SECONDS: that task's execution_timeout.
"""
import os
from datetime import timedelta


def task_policy(task):
    task.retry_delay = timedelta(0)
    task.retry_exponential_backoff = False
    retries = os.environ.get("PIPEKIT_TEST_RETRIES")
    if retries is not None and task.retries:
        task.retries = int(retries)
    timeout = os.environ.get("PIPEKIT_TEST_TIMEOUT_" + task.task_id.upper())
    if timeout:
        task.execution_timeout = timedelta(seconds=float(timeout))
