-- intake: the database schema, version 1.
--
-- The programs apply this file to a database whose PRAGMA user_version is
-- 0 and migrations (sql/migrate-N.sql, compiled in) to older versions, in
-- one transaction each.  Times are ISO 8601 UTC text with milliseconds.
--
-- A reply is state: the assistant row is inserted with status 'streaming'
-- before the first token and its text grows in message_parts, one row per
-- save, so every save writes only what is new (linear in the reply's
-- length) and a follower reads only what it has not seen.  When the reply
-- is final the parts are folded into messages.text and deleted.

PRAGMA foreign_keys = ON;

CREATE TABLE conversations (
	id		TEXT PRIMARY KEY,		-- random, URL-safe, 128 bits
	token		TEXT NOT NULL,			-- bearer secret
	client_addr	TEXT,
	created_at	TEXT NOT NULL,
	updated_at	TEXT NOT NULL
);

CREATE TABLE messages (
	id		INTEGER PRIMARY KEY,
	conversation_id	TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	turn		INTEGER NOT NULL CHECK (turn >= 1),
	role		TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
	status		TEXT NOT NULL CHECK (status IN ('streaming', 'complete',
			    'error', 'cancelled', 'interrupted')),
	text		TEXT NOT NULL DEFAULT '',	-- final text; see message_parts
	length		INTEGER NOT NULL DEFAULT 0,	-- bytes saved so far
	client_id	TEXT,				-- idempotency key (user rows)
	error		TEXT,				-- what the visitor was told
	owner_pid	INTEGER,			-- process writing a streaming row
	owner_start	INTEGER,			-- its start time, against pid reuse
	heartbeat_at	INTEGER,			-- unix ms of the owner's last save
	cancel		INTEGER NOT NULL DEFAULT 0,	-- set by POST .../cancel
	created_at	TEXT NOT NULL,
	updated_at	TEXT NOT NULL,
	UNIQUE (conversation_id, turn, role)
);

CREATE UNIQUE INDEX messages_client_id
	ON messages (conversation_id, client_id) WHERE client_id IS NOT NULL;

CREATE INDEX messages_streaming
	ON messages (conversation_id) WHERE status = 'streaming';

CREATE TABLE message_parts (
	message_id	INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	offset		INTEGER NOT NULL,		-- byte offset of text in the reply
	text		TEXT NOT NULL,
	PRIMARY KEY (message_id, offset)
) WITHOUT ROWID;

PRAGMA user_version = 1;
