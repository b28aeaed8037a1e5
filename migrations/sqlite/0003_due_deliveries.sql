-- The deliveries a lease looks for, in the order it takes them: pending ones of one channel by
-- due time and id. The lease used `deliveries_due (state, next_attempt_ms)`, which holds every
-- channel and leaves the `id` order to a sort: with a backlog of e-mails, each lease of
-- callbacks walked all pending e-mails and each lease of e-mails sorted them all, 10–30 ms while
-- holding the one SQLite writer that creates wait for (BENCHMARKS.md). `deliveries_due` stays
-- for the counts and list by state.
CREATE INDEX deliveries_pending ON deliveries(channel, next_attempt_ms, id) WHERE state = 'pending';
