#!/usr/bin/env python3
"""The seeds' Spark Structured Streaming job: Kafka -> filters -> PostgreSQL.

    spark_job.py --brokers LIST --topic NAME --jdbc-url URL --table NAME
                 --checkpoint DIR [--max-offsets N] [--ivy DIR] [--trigger T]

local[2]; the topic's JSON values parsed with from_json into the flat user
schema; the seeds' checks as filters (required fields present, a plausible
e-mail, gender male or female, a non-empty username, dates that parse);
foreachBatch appends each micro-batch over JDBC. With --trigger availableNow
(the default) it reads what the topic holds when it starts, then ends; with
--trigger default (Spark's own default: the next micro-batch as soon as the
previous one is done) or a processing-time interval such as "0 seconds" it runs
until SIGTERM or SIGINT, then stops the query and Spark.
"""
import argparse
import signal

from pyspark.sql import SparkSession
from pyspark.sql.functions import col, from_json, length, to_timestamp
from pyspark.sql.types import StringType, StructField, StructType

PACKAGES = "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0,org.postgresql:postgresql:42.7.4"
FIELDS = ["id", "first_name", "last_name", "gender", "address", "post_code", "email",
          "username", "dob", "registered_date", "phone", "picture", "nat"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--jdbc-url", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--max-offsets", type=int, default=0, help="maxOffsetsPerTrigger (0: no limit)")
    ap.add_argument("--ivy", help="Ivy cache for spark.jars.packages")
    ap.add_argument("--trigger", default="availableNow",
                    help="availableNow, default (no trigger set) or a processingTime interval")
    args = ap.parse_args()

    builder = (SparkSession.builder.appName("SparkDataStreaming").master("local[2]")
               .config("spark.jars.packages", PACKAGES)
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.ui.enabled", "false"))
    if args.ivy:
        builder = builder.config("spark.jars.ivy", args.ivy)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")

    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", args.brokers)
              .option("subscribe", args.topic)
              .option("startingOffsets", "earliest")
              .option("failOnDataLoss", "false"))
    if args.max_offsets:
        reader = reader.option("maxOffsetsPerTrigger", args.max_offsets)
    schema = StructType([StructField(name, StringType(), True) for name in FIELDS])
    users = (reader.load().selectExpr("CAST(value AS STRING) AS value")
             .select(from_json(col("value"), schema).alias("data")).select("data.*"))

    required = None
    for name in FIELDS:
        present = col(name).isNotNull()
        required = present if required is None else required & present
    good = (users.filter(required)
            .filter(col("email").rlike(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))
            .filter(col("gender").isin("male", "female"))
            .filter(length(col("username")) >= 1)
            .withColumn("dob", to_timestamp(col("dob")))
            .withColumn("registered_date", to_timestamp(col("registered_date")))
            .filter(col("dob").isNotNull() & col("registered_date").isNotNull()))

    def write_batch(batch, batch_id):
        (batch.write.format("jdbc").option("url", args.jdbc_url).option("dbtable", args.table)
         .option("driver", "org.postgresql.Driver").mode("append").save())

    writer = good.writeStream.foreachBatch(write_batch).option("checkpointLocation", args.checkpoint)
    if args.trigger == "availableNow":
        writer = writer.trigger(availableNow=True)
    elif args.trigger != "default":
        writer = writer.trigger(processingTime=args.trigger)
    query = writer.start()
    if args.trigger == "availableNow":
        query.awaitTermination()
    else:
        # A running query ends on a signal: the handler only sets a flag, and
        # the query is stopped from here, not from inside a py4j call.
        stop = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.append(True))
        while not stop and query.isActive:
            query.awaitTermination(0.5)
        query.stop()
    spark.stop()


if __name__ == "__main__":
    main()
