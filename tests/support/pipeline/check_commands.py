#!/usr/bin/env python3
"""check_commands.py [--dag DAG.py] [FILE...]: the commands an example runs
exist and take the options it gives them.

For the Airflow DAG, the airflow modules are stubbed (Airflow is not
installed here): the DAG file is imported, each BashOperator's arguments
are recorded, and the DAG's promises are checked (set -euo pipefail, env
with append_env, retries, skip_on_exit_code=99). Then, for every command
line of the DAG, the shell scripts and the crontab: each pipekit tool
called must be on PATH, every --long-option it is given must appear in its
--help (for pipekit, in `pipekit SUBCOMMAND --help`), and `pipekit ...`
lines of the DAG must pass `--dry-run` with the DAG's env (templates filled
with test values) without printing a password. Exit 1 on any problem."""
import argparse, importlib.util, os, re, shlex, subprocess, sys, types

TOOLS = {"pipekit", "ru-fetch", "kpub", "ksub", "jvalidate", "pgload", "cqlload", "kmock"}
problems = []


def problem(msg):
    problems.append(msg)
    print("PROBLEM: " + msg)


def stub_airflow(recorded):
    class DAG:
        def __init__(self, dag_id=None, **kw):
            self.dag_id, self.kw = dag_id, kw

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    class BashOperator:
        def __init__(self, task_id, bash_command, **kw):
            self.task_id, self.bash_command, self.kw = task_id, bash_command, kw
            self.downstream = []
            recorded.append(self)

        def __rshift__(self, other):
            others = other if isinstance(other, list) else [other]
            self.downstream += others
            return other

        def __rrshift__(self, other):  # [a, b] >> c
            for o in other:
                o.downstream.append(self)
            return self

        def as_teardown(self, **kw):
            return self

    airflow = types.ModuleType("airflow")
    airflow.DAG = DAG
    ops = types.ModuleType("airflow.operators")
    bash = types.ModuleType("airflow.operators.bash")
    bash.BashOperator = BashOperator
    sys.modules.update({"airflow": airflow, "airflow.operators": ops, "airflow.operators.bash": bash})


def help_text(tool, sub=None, cache={}):
    key = (tool, sub)
    if key not in cache:
        cmd = [tool] + ([sub] if sub else []) + ["--help"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            problem(f"`{' '.join(cmd)}` exited {r.returncode}: {r.stderr.strip()[:200]}")
        cache[key] = r.stdout + r.stderr
    return cache[key]


def commands_of(text):
    """Each simple command of a shell text: a list of words."""
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # crontab lines: drop the five time fields
        m = re.match(r"^([\d*/,-]+\s+){5}(.*)$", line)
        if m:
            line = m.group(2)
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        cur = []
        for w in words + ["|"]:
            if w in ("|", "||", "&&", ";", "&") or w.endswith(";"):
                if w.endswith(";") and w != ";":
                    cur.append(w[:-1])
                if cur:
                    out.append(cur)
                cur = []
            else:
                cur.append(w)
    return out


def check_command(words, where):
    # look through wrappers: flock -n LOCK cmd..., env A=B cmd...
    while words and (words[0] in ("flock", "env", "exec", "timeout") or re.match(r"^[A-Z_]+=", words[0])):
        w = words.pop(0)
        if w == "flock":
            while words and words[0].startswith("-"):
                words.pop(0)
            words = words[1:]  # the lock file
        elif w == "timeout":
            words = words[1:]
    if not words:
        return None
    tool = os.path.basename(words[0])
    if tool not in TOOLS:
        return None
    if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
        problem(f"{where}: {tool} is not on PATH")
        return None
    sub = None
    if tool == "pipekit":
        subs = [w for w in words[1:] if w in ("ingest", "load", "run", "status", "demo")]
        if not subs:
            problem(f"{where}: pipekit without a subcommand: {' '.join(words)}")
            return None
        sub = subs[0]
    text = help_text(tool, sub)
    for w in words[1:]:
        if w.startswith("--"):
            opt = w.split("=", 1)[0]
            if not re.search(re.escape(opt) + r"(?![a-z0-9-])", text):
                problem(f"{where}: {tool}{' ' + sub if sub else ''} has no option {opt}")
    return tool


def check_dag(path, test_values):
    recorded = []
    stub_airflow(recorded)
    spec = importlib.util.spec_from_file_location("dag_under_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not recorded:
        problem(f"{path}: no BashOperator")
    dag = getattr(mod, "dag", None)
    default_args = getattr(dag, "kw", {}).get("default_args", {}) if dag else {}
    ids = {t.task_id for t in recorded}
    for need in ("ingest", "load_postgres", "load_cassandra"):
        if need not in ids:
            problem(f"{path}: no task {need}")
    for t in recorded:
        where = f"{os.path.basename(path)}:{t.task_id}"
        if not t.bash_command.startswith("set -euo pipefail"):
            problem(f"{where}: bash_command does not start with set -euo pipefail")
        if not t.kw.get("append_env") or not isinstance(t.kw.get("env"), dict):
            problem(f"{where}: env and append_env=True expected")
        if "retries" not in t.kw and "retries" not in default_args:
            problem(f"{where}: no retries")
        if "--empty-exit 99" in t.bash_command and t.kw.get("skip_on_exit_code") != 99:
            problem(f"{where}: --empty-exit 99 without skip_on_exit_code=99")
        env = dict(os.environ)
        for k, v in t.kw.get("env", {}).items():
            env[k] = re.sub(r"\{\{\s*([\w.]+)\s*\}\}", lambda m: test_values.get(m.group(1), "x"), v)
        for words in commands_of(t.bash_command):
            if words[:1] == ["set"]:
                continue
            tool = check_command(list(words), where)
            if tool == "pipekit":
                r = subprocess.run(words + ["--dry-run"], capture_output=True, text=True, env=env)
                if r.returncode != 0:
                    problem(f"{where}: `{' '.join(words)} --dry-run` exited {r.returncode}: {r.stderr.strip()[:300]}")
                if "s3cret" in r.stdout + r.stderr:
                    problem(f"{where}: a password reached pipekit's output or a command line")
    print(f"{path}: {len(recorded)} tasks checked")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dag")
    ap.add_argument("--schema", default="")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    if a.dag:
        check_dag(a.dag, {
            "var.value.pipekit_brokers": "127.0.0.1:9092", "var.value.pipekit_topic": "users",
            "var.value.pipekit_schema": a.schema, "var.value.pipekit_state_dir": os.environ.get("TMPDIR", "/tmp"),
            "var.value.pipekit_pg_host": "db", "var.value.pipekit_pg_database": "users",
            "var.value.pipekit_cql_hosts": "cql1", "var.value.pipekit_cql_keyspace": "pipekit",
            "conn.pipekit_pg.login": "loader", "conn.pipekit_pg.password": "s3cret",
            "conn.pipekit_cql.login": "loader", "conn.pipekit_cql.password": "s3cret",
        })
    for f in a.files:
        n = 0
        for words in commands_of(open(f).read()):
            if check_command(list(words), os.path.basename(f)):
                n += 1
        print(f"{f}: {n} tool commands checked")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
