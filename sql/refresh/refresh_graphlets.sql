-- name: refresh_graphlets
-- description: The graphlets whose graphlets row a refresh derives again whole: those whose members changed and those holding a changed PushedModel.
--
-- Of the artifacts a graphlet holds, its row reads the type and span of Examples, fixed once
-- made, and whether a PushedModel says it was pushed, which an update may change: so of the
-- changed artifacts only PushedModels, and artifacts deleted, change the rows of the graphlets
-- holding them. An artifact that only gained or lost an event changes the members (and so
-- refresh_members holds the graphlets) or nothing. Graphlets that only share an execution that
-- gained or lost a holder keep their row but for its shared costs (refresh_costs).
SELECT graphlet_id FROM refresh_members
UNION
SELECT graphlet_id
FROM graphlet_members
WHERE artifact_id IN (SELECT artifact_id FROM changed_artifacts c
                      WHERE NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.artifact_id = c.artifact_id AND a.type <> 'PushedModel'))
