-- 004: the limits that keep one visitor from denying every other one.
--
-- rate_limits becomes a sliding window: one row per admitted request,
-- kept for a minute, so no 60-second span admits more than the limit (a
-- fixed per-minute counter let an address send twice the limit across a
-- minute boundary).  Its rows are a minute of traffic at most: dropping
-- them here costs nothing.
--
-- stream_slots holds one row per request that holds a worker while it
-- streams: a turn (from before its body is read until its reply is
-- saved) or a follow of /events.  Counted per client address and per
-- conversation, they cap what one address can hold across every process
-- and thread.  Each row names its owner (pid and start time, as
-- messages.owner_pid does), so the slots of a process that died are
-- taken back rather than leaked.

DROP TABLE rate_limits;

CREATE TABLE rate_limits (
	addr		TEXT NOT NULL,		-- the client's address key
	kind		TEXT NOT NULL,		-- 'conversation' or 'message'
	at_ms		INTEGER NOT NULL	-- unix ms it was admitted
);

CREATE INDEX rate_limits_addr ON rate_limits (addr, kind, at_ms);
CREATE INDEX rate_limits_at ON rate_limits (at_ms);

CREATE TABLE stream_slots (
	id		INTEGER PRIMARY KEY,
	addr		TEXT NOT NULL,		-- the client's address key
	conversation_id	TEXT NOT NULL,
	kind		TEXT NOT NULL CHECK (kind IN ('turn', 'follow')),
	owner_pid	INTEGER NOT NULL,
	owner_start	INTEGER NOT NULL,
	started_at	INTEGER NOT NULL	-- unix ms
);

CREATE INDEX stream_slots_addr ON stream_slots (addr);
CREATE INDEX stream_slots_conv ON stream_slots (conversation_id, kind);
CREATE INDEX stream_slots_started ON stream_slots (started_at);

PRAGMA user_version = 4;
