"""The per-day aggregates of a sweep, computed by DuckDB over the same files, for scripts/bench.sh.

Per provider, account and day: events, provisioning calls, failed sign-ins, distinct source
addresses. Columns are declared (no schema inference), which is DuckDB's fastest way to read
JSON. Billing files (under 0.1% of the bytes) are left out. Prints seconds and the row count.

Usage: python3 scripts/duckdb_aggregates.py WORLD [THREADS]
"""

import sys
import time

import duckdb

world = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else None

AWS = f"""
SELECT 'aws' AS provider, r.recipientAccountId AS account, CAST(r.eventTime AS DATE) AS day,
       r.eventName IN ('RunInstances', 'RequestSpotInstances', 'RequestSpotFleet', 'CreateFleet',
                       'CreateInstances') AS provision,
       r.eventName = 'ConsoleLogin' AND r.errorMessage IS NOT NULL AS failed_sign_in,
       r.sourceIPAddress AS source
FROM (SELECT unnest(Records) AS r FROM read_json('{world}/aws/**/*.json.gz',
  columns = {{Records: 'STRUCT(eventTime VARCHAR, eventName VARCHAR, recipientAccountId VARCHAR,
                              errorMessage VARCHAR, sourceIPAddress VARCHAR)[]'}},
  format = 'unstructured', maximum_object_size = 1073741824))
"""

AZURE_ACTIVITY = f"""
SELECT 'azure', v.subscriptionId, CAST(v.eventTimestamp AS DATE),
       v.operationName.value ILIKE 'Microsoft.Compute/virtualMachines/write', false,
       v.httpRequest.clientIpAddress
FROM (SELECT unnest(value) AS v FROM read_json('{world}/azure/*/activity/**/*.json',
  columns = {{value: 'STRUCT(eventTimestamp VARCHAR, subscriptionId VARCHAR,
                            operationName STRUCT(value VARCHAR),
                            httpRequest STRUCT(clientIpAddress VARCHAR))[]'}},
  format = 'unstructured', maximum_object_size = 1073741824))
"""

AZURE_SIGN_INS = f"""
SELECT 'azure', s.userPrincipalName, CAST(s.createdDateTime AS DATE), false,
       s.status.errorCode <> 0, s.ipAddress
FROM (SELECT unnest(value) AS s FROM read_json('{world}/azure/*/signins/*.json',
  columns = {{value: 'STRUCT(createdDateTime VARCHAR, userPrincipalName VARCHAR,
                            ipAddress VARCHAR, status STRUCT(errorCode BIGINT))[]'}},
  format = 'unstructured', maximum_object_size = 1073741824))
"""

GCP = f"""
SELECT 'gcp', resource.labels.project_id, CAST(timestamp AS DATE),
       protoPayload.methodName LIKE '%instances.insert', protoPayload.methodName LIKE '%loginFailure',
       protoPayload.requestMetadata.callerIp
FROM read_json('{world}/gcp/**/*.json',
  columns = {{timestamp: 'VARCHAR', resource: 'STRUCT(labels STRUCT(project_id VARCHAR))',
             protoPayload: 'STRUCT(methodName VARCHAR, requestMetadata STRUCT(callerIp VARCHAR))'}},
  format = 'newline_delimited', maximum_object_size = 1073741824)
WHERE protoPayload IS NOT NULL
"""

QUERY = f"""
SELECT provider, account, day, count(*) AS events, count(*) FILTER (provision) AS provisioning,
       count(*) FILTER (failed_sign_in) AS failed_sign_ins, count(DISTINCT source) AS sources
FROM ({AWS} UNION ALL {AZURE_ACTIVITY} UNION ALL {AZURE_SIGN_INS} UNION ALL {GCP})
GROUP BY ALL
"""

connection = duckdb.connect()
if threads:
    connection.execute(f"SET threads = {threads}")
start = time.perf_counter()
rows = connection.execute(QUERY).fetchall()
seconds = time.perf_counter() - start
events = sum(row[3] for row in rows)
print(f"{seconds:.3f} {len(rows)} {events}")
