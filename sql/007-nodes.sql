-- 007: who writes a streaming reply, holds a stream slot or runs a job
-- is a node (INTAKE_NODE, by default the host's name) and a process on
-- it.  A process is checked for life only on its own node; on another
-- node only its heartbeat says whether it still runs.  Rows written
-- before this migration have no node and are judged as this node's.

ALTER TABLE messages ADD COLUMN owner_node TEXT;
ALTER TABLE stream_slots ADD COLUMN owner_node TEXT;
ALTER TABLE jobs ADD COLUMN node TEXT;

PRAGMA user_version = 7;
