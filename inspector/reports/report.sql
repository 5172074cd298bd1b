-- The report's queries: the one source of SQL, written in DuckDB's dialect. `inspector.reports.sql`
-- carries each query to Trino (Athena) with sqlglot; tests/unit/test_reports_sql.py proves both agree.
--
-- Each query reads `base`, the records of the period (prepended as a CTE), from `records` (also prepended):
-- the records of each day from exactly one of two tables, so that no record counts twice:
-- - `daily`, the one-line JSON copies (`daily/dt=.../*.json`), with the columns line, image (struct with
--   key), verdict, inspected_at (ISO 8601 in UTC, as the pipeline writes it), findings (list of structs:
--   rule, kind, subject, outcome), decisions (list of structs: who, at, before, after, note; oldest
--   first) and dt (the inspection's UTC day, yyyy-mm-dd: the partition);
-- - `compacted`, the closed days merged into Parquet (`compact/dt=.../records.parquet`, written from
--   `daily` by the `compact` query below): line, image_key, verdict, inspected_at, findings, decided (the
--   last decision's `after`) and dt.
-- Locally both are DuckDB relations over files; in AWS, the Glue tables.
-- Placeholders (:name) are replaced by literals: since/until (timestamps, [since, until)),
-- since_day/until_day (their days, for partition pruning), compacted_days/open_days (the period's days
-- read from `compacted` / from `daily`: lists), line (NULL for every line), bucket_len (10 to group by
-- day, 13 by hour), day (the day `compact` merges).

-- name: compact
-- One closed day's records as the compacted table holds them: only what the queries read, sorted so that
-- Parquet's row-group statistics skip what a line's or an hour's query does not need.
SELECT
  line,
  image.key AS image_key,
  verdict,
  inspected_at,
  findings,
  CASE WHEN array_length(decisions) > 0 THEN decisions[array_length(decisions)].after END AS decided
FROM daily
WHERE dt = :day
ORDER BY line, inspected_at

-- name: records
SELECT line, image_key, verdict, inspected_at, findings, decided, dt
FROM compacted
WHERE dt IN (:compacted_days)
UNION ALL
SELECT
  line,
  image.key AS image_key,
  verdict,
  inspected_at,
  findings,
  CASE WHEN array_length(decisions) > 0 THEN decisions[array_length(decisions)].after END AS decided,
  dt
FROM daily
WHERE dt IN (:open_days)

-- name: base
SELECT
  COALESCE(line, 'default') AS line,
  image_key,
  verdict,
  inspected_at,
  findings,
  decided
FROM records
WHERE dt BETWEEN :since_day AND :until_day
  AND inspected_at >= :since AND inspected_at < :until
  AND (:line IS NULL OR COALESCE(line, 'default') = :line)

-- name: verdicts
-- Images by line, machine verdict and effective verdict (the last human decision's `after`, else the
-- machine's verdict).
SELECT line, verdict, COALESCE(decided, verdict) AS effective, COUNT(*) AS images
FROM base
GROUP BY line, verdict, COALESCE(decided, verdict)
ORDER BY line, verdict, effective

-- name: subgroups
-- The p-chart's subgroups: per line and day (or hour), the images judged (REJECTED ones were never
-- judged) and those whose effective verdict is FAIL.
SELECT
  line,
  SUBSTRING(inspected_at, 1, :bucket_len) AS subgroup,
  COUNT(*) FILTER (WHERE verdict <> 'REJECTED') AS judged,
  COUNT(*) FILTER (WHERE verdict <> 'REJECTED' AND COALESCE(decided, verdict) = 'FAIL') AS failed
FROM base
GROUP BY line, SUBSTRING(inspected_at, 1, :bucket_len)
ORDER BY line, subgroup

-- name: reasons
-- The findings behind each FAIL (unmet or violated rules) and REVIEW (uncertain ones), as the engine
-- names them: the Pareto's categories. The positions 1..n are one list joined to every record (n the
-- longest findings list): ten times faster in DuckDB than a list per record, and the same in Trino.
SELECT
  b.line,
  b.verdict,
  b.findings[t.i].rule AS rule,
  b.findings[t.i].subject AS subject,
  COUNT(*) AS occurrences
FROM (SELECT * FROM base WHERE verdict IN ('FAIL', 'REVIEW')) AS b
CROSS JOIN UNNEST(
  range(1, (SELECT MAX(array_length(findings)) FROM base WHERE verdict IN ('FAIL', 'REVIEW')) + 1)
) AS t(i)
WHERE t.i <= array_length(b.findings)
  AND ((b.verdict = 'FAIL' AND b.findings[t.i].outcome IN ('unmet', 'violated'))
    OR (b.verdict = 'REVIEW' AND b.findings[t.i].outcome = 'uncertain'))
GROUP BY b.line, b.verdict, b.findings[t.i].rule, b.findings[t.i].subject
ORDER BY occurrences DESC, rule, subject, line, verdict

-- name: backlog
-- REVIEW images of the period that no person has decided yet, per line and day of inspection.
SELECT
  line,
  SUBSTRING(inspected_at, 1, 10) AS day,
  COUNT(*) AS images,
  MIN(inspected_at) AS oldest
FROM base
WHERE verdict = 'REVIEW' AND decided IS NULL
GROUP BY line, SUBSTRING(inspected_at, 1, 10)
ORDER BY line, day

-- name: agreement
-- Machine verdicts against the people's last decisions, where there are decisions.
SELECT line, verdict, decided, COUNT(*) AS images
FROM base
WHERE decided IS NOT NULL
GROUP BY line, verdict, decided
ORDER BY line, verdict, decided
