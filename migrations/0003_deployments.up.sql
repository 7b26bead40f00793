-- 0003 deployments: deployments of projects, the controller's leader lease,
-- and change notifications (LISTEN rise_deployments) that wake the controller
-- and long-polling API clients.

CREATE TABLE deployments (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id       uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- deployment_id is the public id: a UTC timestamp, unique per project.
    deployment_id    text        NOT NULL,
    deployment_group text        NOT NULL DEFAULT 'default',
    state            text        NOT NULL,
    -- image is what was asked for (repo:tag); image_digest pins it (repo@sha256:...).
    image            text        NOT NULL DEFAULT '',
    image_digest     text        NOT NULL DEFAULT '',
    workload         jsonb       NOT NULL DEFAULT '{}',
    message          text        NOT NULL DEFAULT '',
    -- active marks the group's serving deployment (Healthy or Unhealthy).
    active           boolean     NOT NULL DEFAULT false,
    -- stop_target is the terminal state a Terminating deployment ends in.
    stop_target      text        NOT NULL DEFAULT '',
    -- The runtime plugin's handle (sdk.Deployment), stored and handed back.
    runtime_state    bytea,
    runtime_state_version integer NOT NULL DEFAULT 0,
    upstreams        text[]      NOT NULL DEFAULT '{}',
    urls             text[]      NOT NULL DEFAULT '{}',
    rollback_of      text        NOT NULL DEFAULT '',
    created_by       text        NOT NULL DEFAULT '',
    expire_seconds   bigint      NOT NULL DEFAULT 0,
    expires_at       timestamptz,
    healthy_at       timestamptz,
    state_changed_at timestamptz NOT NULL DEFAULT now(),
    -- version increases on every change (optimistic concurrency, long polls).
    version          bigint      NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT deployments_project_deployment_key UNIQUE (project_id, deployment_id),
    CONSTRAINT deployments_id_format CHECK (deployment_id ~ '^[0-9]{8}-[0-9]{6}(-[0-9]{1,4})?$'),
    CONSTRAINT deployments_group_format CHECK (deployment_group ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    CONSTRAINT deployments_state CHECK (state IN ('Pending', 'Building', 'Pushing', 'Pushed', 'Deploying',
        'Healthy', 'Unhealthy', 'Cancelling', 'Cancelled', 'Terminating', 'Stopped', 'Superseded',
        'Expired', 'Failed')),
    CONSTRAINT deployments_stop_target CHECK (stop_target IN ('', 'Stopped', 'Superseded', 'Expired')),
    CONSTRAINT deployments_active_state CHECK (NOT active OR state IN ('Healthy', 'Unhealthy'))
);

-- One active deployment per project and group.
CREATE UNIQUE INDEX deployments_one_active_idx ON deployments (project_id, deployment_group) WHERE active;
-- Listing a project's deployments, newest first.
CREATE INDEX deployments_project_idx ON deployments (project_id, created_at DESC, deployment_id DESC);
-- The controller's work list: every non-terminal deployment.
CREATE INDEX deployments_live_idx ON deployments (project_id)
    WHERE state NOT IN ('Cancelled', 'Stopped', 'Superseded', 'Expired', 'Failed');

-- controller_leases: one row per leader-elected controller; the holder
-- renews expires_at, another replica takes over once it has passed.
CREATE TABLE controller_leases (
    name       text        PRIMARY KEY,
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Change notifications: payload "d:<deployment uuid>:<project uuid>" or
-- "p:<project uuid>" (project status changed, e.g. to deleting).
CREATE FUNCTION rise_notify_deployment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rise_deployments', 'd:' || NEW.id || ':' || NEW.project_id);
    RETURN NULL;
END $$;

CREATE TRIGGER deployments_notify AFTER INSERT OR UPDATE ON deployments
    FOR EACH ROW EXECUTE FUNCTION rise_notify_deployment();

CREATE FUNCTION rise_notify_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'deleting' AND OLD.status IS DISTINCT FROM 'deleting' THEN
        PERFORM pg_notify('rise_deployments', 'p:' || NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER projects_notify_deleting AFTER UPDATE OF status ON projects
    FOR EACH ROW EXECUTE FUNCTION rise_notify_project();
