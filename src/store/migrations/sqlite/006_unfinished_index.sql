-- The queue depth (GET /metrics, every scrape) counts unfinished executions by state. Without an
-- index it read the whole table, finished executions of the whole log retention included, on every
-- scrape. A partial index holds only unfinished executions, so it stays as small as the queue and
-- finished ones cost nothing to keep in it. Queries must repeat this exact IN list to use it.
CREATE INDEX executions_unfinished ON executions(state) WHERE state IN ('queued', 'pending', 'in_flight');
