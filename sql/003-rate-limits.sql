-- 003: requests per client address per minute, counted in the database so
-- the limit holds across every process and thread that serves the site.

CREATE TABLE rate_limits (
	addr		TEXT NOT NULL,
	kind		TEXT NOT NULL,		-- 'conversation' or 'message'
	minute		INTEGER NOT NULL,	-- unix time / 60
	count		INTEGER NOT NULL,
	PRIMARY KEY (addr, kind, minute)
) WITHOUT ROWID;

CREATE INDEX rate_limits_minute ON rate_limits (minute);

PRAGMA user_version = 3;
