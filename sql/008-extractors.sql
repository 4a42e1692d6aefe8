-- 008: an extractor that has run out of jobs stays a while for the next
-- one (INTAKE_EXTRACT_LINGER_MS) instead of leaving at once: while it
-- waits it has a row here, and the web program hands a turn's job to it
-- (the job running with its pid, the row deleted) rather than start
-- another process.  A row counts toward its node's INTAKE_MAX_EXTRACTORS
-- as a running job does.  The row is made, taken and deleted only under
-- the node's jobs lock (common/jobs.c), so a job is never handed to an
-- extractor that has decided to leave.

CREATE TABLE extractors (
	node		TEXT NOT NULL,
	pid		INTEGER NOT NULL,
	pid_start	INTEGER NOT NULL,
	since		INTEGER NOT NULL,	-- unix ms it began to wait
	PRIMARY KEY (node, pid)
);

PRAGMA user_version = 8;
