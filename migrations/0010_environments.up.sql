-- 0010 environments: every project has named environments (production, the
-- default, plus any others); a deployment runs in one environment and one of
-- its deployment groups (which may now contain '/', like mr/27). App hosts
-- follow sdk/apphost: <project>, <project>--<environment>,
-- <project>--<group label>. Variables (0009) layer per environment by
-- (project_id, name) of this table.

CREATE TABLE environments (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    -- production marks environments that serve real users (shown, and the
    -- default environment's flag); the default environment is the one
    -- named 'production'.
    production boolean     NOT NULL DEFAULT false,
    -- protected: only the project's owners and service accounts that name
    -- the environment may deploy to it.
    protected  boolean     NOT NULL DEFAULT false,
    -- Workload defaults of deployments in this environment (0/'' = unset).
    replicas   integer     NOT NULL DEFAULT 0,
    cpu        text        NOT NULL DEFAULT '',
    memory     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT environments_project_name_key UNIQUE (project_id, name),
    CONSTRAINT environments_name_format CHECK (name ~ '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$' AND name NOT LIKE '%--%'),
    CONSTRAINT environments_replicas CHECK (replicas BETWEEN 0 AND 100)
);

-- Every project starts with production.
INSERT INTO environments (project_id, name, production) SELECT id, 'production', true FROM projects;

CREATE FUNCTION rise_project_default_environment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO environments (project_id, name, production) VALUES (NEW.id, 'production', true);
    RETURN NULL;
END $$;

CREATE TRIGGER projects_default_environment AFTER INSERT ON projects
    FOR EACH ROW EXECUTE FUNCTION rise_project_default_environment();

ALTER TABLE deployments
    ADD COLUMN environment      text NOT NULL DEFAULT 'production',
    -- CI metadata: the job that deployed and the pull/merge request it is for.
    ADD COLUMN job_url          text NOT NULL DEFAULT '',
    ADD COLUMN pull_request_url text NOT NULL DEFAULT '',
    -- promoted_from: the deployment whose image this one deploys (--from).
    ADD COLUMN promoted_from    text NOT NULL DEFAULT '',
    ADD CONSTRAINT deployments_environment_fkey FOREIGN KEY (project_id, environment)
        REFERENCES environments (project_id, name) ON DELETE CASCADE;

-- Groups: segments of a DNS label's characters separated by '/'.
ALTER TABLE deployments DROP CONSTRAINT deployments_group_format;
ALTER TABLE deployments ADD CONSTRAINT deployments_group_format CHECK (length(deployment_group) <= 63
    AND deployment_group ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(/[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$');

-- One active deployment per project, environment and group.
DROP INDEX deployments_one_active_idx;
CREATE UNIQUE INDEX deployments_one_active_idx ON deployments (project_id, environment, deployment_group) WHERE active;

-- Service accounts limited to environments ('{}' = every unprotected one).
ALTER TABLE service_accounts ADD COLUMN environments text[] NOT NULL DEFAULT '{}';
