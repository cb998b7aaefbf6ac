"""Runs the portable part of the rendered pipeline SQL on open-source Apache Spark (plain spark.sql)
and compares the result with the DuckDB engine's tables: row counts and per-column checksums.

Usage: python3 parity.py SPEC.json  -> prints one JSON object on the last line of stdout.
The spec (written by parity.test.ts) names the engine's bronze/reference tables (Parquet), the
rendered relations in dependency order, the engine's output tables (Parquet) and what to compare.
"""
import json
import sys
import time


def main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    t0 = time.time()
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("carelake-parity")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.warehouse.dir", spec["warehouse"])
        .getOrCreate()
    )
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
        sql = rel["sql"]
        if rel["role"] == "view":
            spark.sql("CREATE OR REPLACE TEMP VIEW `%s` AS %s" % (rel["name"], sql))
        else:
            spark.sql("CACHE TABLE `%s` AS %s" % (rel["name"], sql))
        executed.append(rel["name"])
        print("relation %s %.1fs" % (rel["name"], time.time() - started), file=sys.stderr)
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
        "trim(source_system) AS s, trim(patient_id) AS p, %s AS h FROM raw_patients" % h["sql"]
    )
    spark.read.parquet(spec["inputs"]["bronze_patients"]).createOrReplaceTempView("engine_bronze")
    hm = spark.sql(
        "SELECT COUNT(*) AS compared, COUNT(*) FILTER (WHERE NOT (e.ssn_hash <=> s.h)) AS differing "
        "FROM (SELECT DISTINCT _file_name, trim(source_system) AS s, trim(patient_id) AS p, ssn_hash FROM engine_bronze "
        "WHERE ssn_hash IS NOT NULL) e JOIN spark_hashes s ON s.f = e._file_name AND s.s = e.s AND s.p = e.p"
    ).collect()[0]
    done = time.time()
    print(
        json.dumps(
            {
                "spark": spark.version,
                "mode": "spark.sql",
                "relations": executed,
                "tables": tables,
                "hmac": {"compared": hm["compared"], "differing": hm["differing"]},
                "seconds": {"startup": round(started - t0, 2), "pipeline": round(ran - started, 2),
                            "compare": round(done - ran, 2), "total": round(done - t0, 2)},
            }
        )
    )
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
