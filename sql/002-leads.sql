-- 002: leads, their fields, the audit trail of extractions, and jobs.
--
-- A lead is a per-field maximum: each field keeps the value with the
-- greatest (strength, turn), ties broken by the value's bytes, so the
-- same extractions merged in any order give the same lead.  Every
-- extraction leaves an audit row saying which fields it won and which it
-- lost.  Every turn leaves a job row, so an extraction whose process was
-- killed is found and run again.

CREATE TABLE leads (
	conversation_id	TEXT PRIMARY KEY
			    REFERENCES conversations(id) ON DELETE CASCADE,
	created_at	TEXT NOT NULL,
	updated_at	TEXT NOT NULL
);

CREATE INDEX leads_updated ON leads (updated_at);

CREATE TABLE lead_fields (
	conversation_id	TEXT NOT NULL
			    REFERENCES leads(conversation_id) ON DELETE CASCADE,
	field		TEXT NOT NULL,
	value		TEXT NOT NULL,
	strength	INTEGER NOT NULL CHECK (strength > 0),
	turn		INTEGER NOT NULL,
	source		TEXT NOT NULL,
	updated_at	TEXT NOT NULL,
	PRIMARY KEY (conversation_id, field)
) WITHOUT ROWID;

CREATE TABLE extractions (
	id		INTEGER PRIMARY KEY,
	conversation_id	TEXT NOT NULL
			    REFERENCES conversations(id) ON DELETE CASCADE,
	turn		INTEGER NOT NULL,
	source		TEXT NOT NULL CHECK (source IN ('rules', 'model')),
	latency_ms	INTEGER NOT NULL,
	fields_won	TEXT NOT NULL,		-- names, comma-separated
	fields_lost	TEXT NOT NULL,		-- offered but the lead kept its own
	fields_json	TEXT NOT NULL,		-- what it extracted
	error		TEXT,			-- a model extraction that failed
	created_at	TEXT NOT NULL
);

CREATE INDEX extractions_conversation ON extractions (conversation_id, id);

CREATE TABLE jobs (
	id		INTEGER PRIMARY KEY,
	conversation_id	TEXT NOT NULL
			    REFERENCES conversations(id) ON DELETE CASCADE,
	turn		INTEGER NOT NULL,
	state		TEXT NOT NULL CHECK (state IN ('pending', 'running',
			    'done', 'failed')),
	pid		INTEGER,		-- the extractor running it
	pid_start	INTEGER,
	claimed_at	INTEGER,		-- unix ms when it went running
	tries		INTEGER NOT NULL DEFAULT 0,
	error		TEXT,
	created_at	TEXT NOT NULL,
	updated_at	TEXT NOT NULL,
	UNIQUE (conversation_id, turn)
);

CREATE INDEX jobs_state ON jobs (state, id);

PRAGMA user_version = 2;
