-- 0013 deployment timeline: every state (or message) change of a deployment,
-- in order, written by a trigger so every path that changes a deployment is
-- recorded. It backs the dashboard's state timeline and the project event
-- stream GET /api/v1/projects/{p}/events, whose event ids are seq values
-- (resumable with Last-Event-ID). Rows go with their deployment.

CREATE TABLE deployment_events (
    seq        bigserial   PRIMARY KEY,
    project_id uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    deployment uuid        NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    state      text        NOT NULL,
    message    text        NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX deployment_events_project_idx ON deployment_events (project_id, seq);
CREATE INDEX deployment_events_deployment_idx ON deployment_events (deployment, seq);

-- The current state of deployments that exist already.
INSERT INTO deployment_events (project_id, deployment, state, message, at)
    SELECT project_id, id, state, message, state_changed_at FROM deployments ORDER BY state_changed_at;

CREATE FUNCTION rise_deployment_timeline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state OR NEW.message IS DISTINCT FROM OLD.message THEN
        INSERT INTO deployment_events (project_id, deployment, state, message)
            VALUES (NEW.project_id, NEW.id, NEW.state, NEW.message);
    END IF;
    RETURN NULL;
END $$;

-- Named to fire before deployments_notify (triggers fire in name order), so
-- the row is there when the notification's listeners read; notifications
-- are delivered at commit anyway.
CREATE TRIGGER deployments_a_timeline AFTER INSERT OR UPDATE OF state, message ON deployments
    FOR EACH ROW EXECUTE FUNCTION rise_deployment_timeline();
