-- 008: extractors waiting for a job; see sql/008-extractors.sql.

CREATE TABLE extractors (
	node		TEXT NOT NULL,
	pid		bigint NOT NULL,
	pid_start	bigint NOT NULL,
	since		bigint NOT NULL,
	PRIMARY KEY (node, pid)
);
