"""pipekit in Airflow: randomuser API -> Kafka -> PostgreSQL and Cassandra.

Every 15 minutes: `ingest` publishes 1,000 users, then two independent loads
(one consumer group each) bring the topic into PostgreSQL and Cassandra.

- Each task is one `pipekit` command under `set -euo pipefail`.
- Settings come through `env` (Airflow Variables), merged with the worker's
  environment (`append_env=True`); passwords come from Airflow Connections
  into the environment (PGPASSWORD, CQL_PASSWORD), never into a command line.
- pipekit exits 99 when there was nothing to do (`--empty-exit 99`): the task
  is skipped, not failed (`skip_on_exit_code=99`). Any other non-zero status
  fails the task and Airflow retries it (exit 3: a service was down).
- The last line pipekit prints is a one-line JSON summary: BashOperator
  pushes it as the task's XCom value (counts, rejects file, restarts).
- Loads are safe to retry: ksub commits only acknowledged offsets and the
  sinks upsert on the key, so a retried or crashed task adds no duplicates.
  A task killed by Airflow (execution_timeout: SIGTERM to the task's process
  group) stops the stages cleanly; the next run loads the rest.
- `status` is a teardown: it runs whatever happened upstream, but, unlike a
  plain all_done leaf, it does not hide a failed load: the run fails then.
- Airflow 3 (operators from the standard provider) and 2.10 (from core).
"""
from datetime import datetime, timedelta

try:  # Airflow 3 (and 2.x with apache-airflow-providers-standard)
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2.10
    from airflow.operators.bash import BashOperator
try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.10
    from airflow import DAG

# Airflow Variables: pipekit_brokers, pipekit_topic, pipekit_schema,
# pipekit_state_dir, pipekit_pg_host, pipekit_pg_database, pipekit_cql_hosts,
# pipekit_cql_keyspace. Connections: pipekit_pg, pipekit_cql (logins).
COMMON_ENV = {
    "KAFKA_BROKERS": "{{ var.value.pipekit_brokers }}",
    "PIPEKIT_TOPIC": "{{ var.value.pipekit_topic }}",
    "PIPEKIT_SCHEMA": "{{ var.value.pipekit_schema }}",
    "PIPEKIT_STATE_DIR": "{{ var.value.pipekit_state_dir }}",
}
PG_ENV = {
    **COMMON_ENV,
    "PGHOST": "{{ var.value.pipekit_pg_host }}",
    "PGDATABASE": "{{ var.value.pipekit_pg_database }}",
    "PGUSER": "{{ conn.pipekit_pg.login }}",
    "PGPASSWORD": "{{ conn.pipekit_pg.password }}",
}
CQL_ENV = {
    **COMMON_ENV,
    "PIPEKIT_CQL_HOSTS": "{{ var.value.pipekit_cql_hosts }}",
    "PIPEKIT_CQL_KEYSPACE": "{{ var.value.pipekit_cql_keyspace }}",
    "PIPEKIT_CQL_USER": "{{ conn.pipekit_cql.login }}",
    "CQL_PASSWORD": "{{ conn.pipekit_cql.password }}",
}

default_args = {
    "owner": "data",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(minutes=30),
}

with DAG(
    dag_id="pipekit_users",
    description="randomuser API -> Kafka -> PostgreSQL and Cassandra with pipekit",
    schedule="*/15 * * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["pipekit"],
) as dag:
    ingest = BashOperator(
        task_id="ingest",
        bash_command="set -euo pipefail\n"
                     "pipekit ingest --once --count 1000 --empty-exit 99 --lock-wait 60s",
        env=COMMON_ENV,
        append_env=True,
        skip_on_exit_code=99,
    )
    load_postgres = BashOperator(
        task_id="load_postgres",
        bash_command="set -euo pipefail\n"
                     "pipekit load --once --sink postgres --group users-postgres --table users "
                     "--empty-exit 99 --lock-wait 60s",
        env=PG_ENV,
        append_env=True,
        skip_on_exit_code=99,
        # a load after a skipped ingest still drains what is in the topic
        trigger_rule="none_failed",
    )
    load_cassandra = BashOperator(
        task_id="load_cassandra",
        bash_command="set -euo pipefail\n"
                     "pipekit load --once --sink cassandra --group users-cassandra --table users "
                     "--empty-exit 99 --lock-wait 60s",
        env=CQL_ENV,
        append_env=True,
        skip_on_exit_code=99,
        trigger_rule="none_failed",
    )
    status = BashOperator(
        task_id="status",
        bash_command="set -euo pipefail\n"
                     "pipekit status --group users-postgres --table users",
        env=PG_ENV,
        append_env=True,
        retries=0,
        trigger_rule="all_done",
    )

    # As a teardown, status still runs after a failed or skipped load, and the
    # run's state comes from the loads (a plain all_done leaf would always
    # make the run succeed).
    ingest >> [load_postgres, load_cassandra] >> status.as_teardown()
