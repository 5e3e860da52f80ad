-- name: refresh_members
-- description: The graphlets whose members a refresh derives again: those walked again, those holding a changed execution, and those holding an artifact whose producer changed.
--
-- A member artifact's side depends on whether a Trainer made it, so a change of its producer
-- (refresh_produced: the artifacts a changed execution made, before or after) reaches every
-- graphlet that holds it. Runs before graphlet_members is refreshed, so it sees the old members.
SELECT graphlet_id FROM refresh_walk
UNION
SELECT graphlet_id FROM graphlet_members WHERE execution_id IN (SELECT execution_id FROM changed_executions)
UNION
SELECT graphlet_id FROM graphlet_members WHERE artifact_id IN (SELECT artifact_id FROM refresh_produced)
