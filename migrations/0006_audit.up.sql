-- 0006 audit: the audit log (server/audit). One row per state-changing API
-- call and per authentication event.
--
-- An event keeps the project's NAME (project) as text, so it survives the
-- project's deletion; project_id links it to the live project and becomes
-- NULL when the project row is deleted. Project owners list events by
-- project_id, so a project re-created under a deleted project's name never
-- shows its predecessor's history; admins can still list by name.
-- details is small JSON built from route variables and the auth layer's
-- facts; request bodies are never stored, so it holds no secrets or tokens.
CREATE TABLE audit_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time        timestamptz NOT NULL DEFAULT now(),
    -- actor: "user:<name>", "sa:<service account id>" or "anonymous".
    actor       text        NOT NULL,
    actor_kind  text        NOT NULL,
    -- action: "project.create", "deployment.create", "auth.login", ...
    action      text        NOT NULL,
    project_id  uuid        REFERENCES projects (id) ON DELETE SET NULL,
    project     text,
    -- target: what was acted on, e.g. "project/my-app/deployments/20261123-142501".
    target      text        NOT NULL DEFAULT '',
    request_id  text        NOT NULL DEFAULT '',
    source_ip   text        NOT NULL DEFAULT '',
    -- status: the HTTP status of the response (0 when there is none).
    status      integer     NOT NULL DEFAULT 0,
    outcome     text        NOT NULL,
    details     jsonb       NOT NULL DEFAULT '{}',
    CONSTRAINT audit_events_actor_kind CHECK (actor_kind IN ('user', 'service_account', 'anonymous')),
    CONSTRAINT audit_events_outcome CHECK (outcome IN ('success', 'denied', 'failure')),
    CONSTRAINT audit_events_details_object CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX audit_events_time_idx ON audit_events (time);
CREATE INDEX audit_events_project_idx ON audit_events (project_id, id DESC) WHERE project_id IS NOT NULL;
CREATE INDEX audit_events_project_name_idx ON audit_events (project, id DESC) WHERE project IS NOT NULL;
