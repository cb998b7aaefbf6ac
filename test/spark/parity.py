"""Runs the portable part of the rendered pipeline SQL on open-source Apache Spark and compares the
result with the DuckDB engine's tables: row counts and per-column checksums.

Usage: python3 parity.py SPEC.json [--mode sdp|spark.sql]  -> one JSON object on the last stdout line.

The spec (written by parity.test.ts) names the engine's bronze/reference tables (Parquet), the
rendered relations in dependency order, the engine's output tables (Parquet) and what to compare.

Mode `sdp` runs the relations as a Spark Declarative Pipeline (`spark-pipelines run`): views as
`CREATE TEMPORARY VIEW`, everything persisted as `CREATE MATERIALIZED VIEW`, exactly the constructs
open-source SDP supports; the comparison then reads the materialized views from the warehouse.
Mode `spark.sql` (where the Spark Connect extras of `pyspark[pipelines]` are missing) runs the same
statements with plain spark.sql. Expectations, read_files, AUTO CDC into a non-MERGE format and
Unity Catalog are not in open-source SDP; see the README.
"""
import decimal
import json
import math
import os
import subprocess
import sys
import time

CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
}


def sdp_available():
    try:
        import grpc  # noqa: F401
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
        import yaml  # noqa: F401
        from pyspark import pipelines  # noqa: F401
    except ImportError as e:
        return "Spark Declarative Pipelines need pyspark[pipelines] (%s)" % e
    return None


def run_sdp(spec, work):
    """Writes the relations as an SDP project and runs it; returns the warehouse folder."""
    import pyspark

    project = os.path.join(work, "sdp")
    os.makedirs(os.path.join(project, "transformations"), exist_ok=True)
    warehouse = os.path.join(work, "sdp-warehouse")
    with open(os.path.join(project, "spark-pipeline.yml"), "w") as f:
        f.write(
            "name: carelake_parity\nstorage: file://%s\nlibraries:\n  - glob:\n      include: transformations/**\n"
            % os.path.join(work, "sdp-storage")
        )
    statements = [
        "CREATE MATERIALIZED VIEW %s AS SELECT * FROM parquet.`%s`" % (name, path)
        for name, path in spec["inputs"].items()
    ]
    for rel in spec["relations"]:
        kind = "TEMPORARY VIEW" if rel["role"] == "view" else "MATERIALIZED VIEW"
        statements.append("CREATE %s %s AS %s" % (kind, rel["name"], rel["sql"]))
    with open(os.path.join(project, "transformations", "carelake.sql"), "w") as f:
        f.write(";\n\n".join(statements) + ";\n")
    cli = os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-pipelines")
    args = [cli, "run", "--spec", os.path.join(project, "spark-pipeline.yml"),
            "--conf", "spark.sql.warehouse.dir=%s" % warehouse]
    for k, v in CONF.items():
        args += ["--conf", "%s=%s" % (k, v)]
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    done = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True)
    if done.returncode != 0 or "Run is COMPLETED" not in done.stdout + done.stderr:
        tail = "\n".join(l for l in (done.stdout + done.stderr).splitlines() if not l.startswith("\tat "))[-6000:]
        raise SystemExit("spark-pipelines run failed (exit %d):\n%s" % (done.returncode, tail))
    # Some --conf combinations leave spark.sql.warehouse.dir unset: then the tables are in ./spark-warehouse.
    first = next(r["name"] for r in spec["relations"] if r["role"] != "view")
    for candidate in (warehouse, os.path.join(project, "spark-warehouse")):
        if os.path.isdir(os.path.join(candidate, first)):
            return candidate
    raise SystemExit("spark-pipelines run completed but %s is in no warehouse folder" % first)


def same_value(a, b):
    """Equal as the two engines store it: doubles to 1e-9, decimals as numbers, lists as sets."""
    if isinstance(a, decimal.Decimal):
        a = float(a)
    if isinstance(b, decimal.Decimal):
        b = float(b)
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9 * max(1.0, abs(a))
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    return a == b


def main(spec_path, mode):
    with open(spec_path) as f:
        spec = json.load(f)
    work = os.path.dirname(os.path.abspath(spec_path))
    t0 = time.time()
    warehouse = None
    if mode == "sdp":
        warehouse = run_sdp(spec, work)
    ran_sdp = time.time()
    import resource

    sdp_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[2]").appName("carelake-parity")
    for k, v in CONF.items():
        builder = builder.config(k, v)
    spark = builder.config("spark.sql.warehouse.dir", os.path.join(work, "warehouse")).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    started = time.time()
    for name, path in spec["inputs"].items():
        spark.read.parquet(path).createOrReplaceTempView(name)
    # The rendered SQL reads the SSN key with Databricks' secret(scope, key): here a SQL function
    # returns the test key, so the exact rendered HMAC expression runs.
    spark.sql(
        "CREATE OR REPLACE TEMPORARY FUNCTION secret(scope STRING, key STRING) RETURNS STRING RETURN '%s'"
        % spec["hmac"]["keyHex"]
    )
    executed = []
    for rel in spec["relations"]:
        if warehouse is not None:
            if rel["role"] != "view":
                spark.read.parquet(os.path.join(warehouse, rel["name"])).createOrReplaceTempView(rel["name"])
        elif rel["role"] == "view":
            spark.sql("CREATE OR REPLACE TEMP VIEW `%s` AS %s" % (rel["name"], rel["sql"]))
        else:
            spark.sql("CACHE TABLE `%s` AS %s" % (rel["name"], rel["sql"]))
        executed.append(rel["name"])
    ran = time.time()

    def checksums(df, columns):
        aggs = ["COUNT(*) AS n"]
        for i, c in enumerate(columns):
            aggs.append(
                "CAST(SUM(CAST(xxhash64(COALESCE(CAST(`%s` AS STRING), '<null>')) AS DECIMAL(38,0))) AS STRING) AS c%d"
                % (c, i)
            )
        df.createOrReplaceTempView("_cmp")
        row = spark.sql("SELECT %s FROM _cmp" % ", ".join(aggs)).collect()[0]
        return row["n"], {c: row["c%d" % i] for i, c in enumerate(columns)}

    tables = []
    for cmp in spec["compare"]:
        engine = spark.read.parquet(cmp["engine"])
        mine = spark.sql(cmp["spark"])
        cols = cmp["columns"]
        en, ec = checksums(engine.selectExpr(*["`%s`" % c for c in cols]), cols)
        sn, sc = checksums(mine.selectExpr(*["`%s`" % c for c in cols]), cols)
        diff = [c for c in cols if ec[c] != sc[c]]
        tables.append({"table": cmp["table"], "engineRows": en, "sparkRows": sn, "columns": len(cols), "differing": diff})

    # The HMAC: the rendered bronze expression over the raw landing SSNs equals the engine's hashes.
    h = spec["hmac"]
    raw = spark.read.option("header", "true").csv(h["files"])
    raw.selectExpr("*", "_metadata.file_name AS _landing_file").createOrReplaceTempView("raw_patients")
    spark.sql(
        "CREATE OR REPLACE TEMP VIEW spark_hashes AS SELECT DISTINCT _landing_file AS f, "
        "trim(source_system) AS s, trim(patient_id) AS p, %s AS h, "
        "coalesce(trim(ssn), '') <> '' AS present FROM raw_patients" % h["sql"]
    )
    spark.read.parquet(spec["inputs"]["bronze_patients"]).createOrReplaceTempView("engine_bronze")
    # Every record that delivered an SSN, hashed or not: both engines must leave the same ones unhashed.
    hm = spark.sql(
        "SELECT COUNT(*) AS compared, COUNT(*) FILTER (WHERE NOT (e.ssn_hash <=> s.h)) AS differing, "
        "COUNT(*) FILTER (WHERE e.ssn_hash IS NULL AND s.h IS NULL) AS unhashed "
        "FROM (SELECT DISTINCT _file_name, trim(source_system) AS s, trim(patient_id) AS p, ssn_hash FROM engine_bronze "
        ") e JOIN spark_hashes s ON s.f = e._file_name AND s.s = e.s AND s.p = e.p WHERE s.present"
    ).collect()[0]
    # Hostile landing values: the rendered staging and checks over the same bronze-shaped rows the engine
    # staged, compared value by value (rule lists as sets, doubles to 1e-9).
    hostile = []
    for h in spec.get("hostile", []):
        spark.read.parquet(h["source"]).createOrReplaceTempView("src_%s" % h["entity"])
        mine = {r["_line_number"]: r.asDict() for r in spark.sql(h["sql"]).collect()}
        engine_df = spark.read.parquet(h["engine"])
        cols = [c for c in engine_df.columns if c != "_ingested_at"]
        differences = []
        for a in engine_df.collect():
            b = mine.get(a["_line_number"], {})
            for c in cols:
                if not same_value(a[c], b.get(c)):
                    differences.append({"column": c, "line": a["_line_number"], "engine": repr(a[c])[:80], "spark": repr(b.get(c))[:80]})
        hostile.append({"entity": h["entity"], "rows": len(mine), "columns": len(cols), "differences": differences[:40]})
    # The spec's level-4/5 validation queries, as rendered for the monitoring workflow.
    checks = {c["key"]: spark.sql(c["sql"]).collect()[0]["value"] for c in spec.get("checks", [])}
    checks = {k: (float(v) if v is not None else None) for k, v in checks.items()}
    done = time.time()
    print(
        json.dumps(
            {
                "spark": spark.version,
                "mode": mode,
                "relations": executed,
                "tables": tables,
                "hmac": {"compared": hm["compared"], "differing": hm["differing"], "unhashed": hm["unhashed"]},
                "hostile": hostile,
                "checks": checks,
                "seconds": {
                    "sdpRun": round(ran_sdp - t0, 2),
                    "sessionStart": round(started - ran_sdp, 2),
                    "sparkSql": round(ran - started, 2),
                    "compare": round(done - ran, 2),
                    "total": round(done - t0, 2),
                    "sdpRunCpu": round(sdp_cpu.ru_utime + sdp_cpu.ru_stime, 2),
                },
            }
        )
    )
    spark.stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    mode = "sdp"
    if "--mode" in args:
        mode = args[args.index("--mode") + 1]
    elif sdp_available() is not None:
        mode = "spark.sql"
        print("parity: %s; running plain spark.sql instead" % sdp_available(), file=sys.stderr)
    main(args[0], mode)
