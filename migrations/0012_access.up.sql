-- 0012 access: who may use an app (server/edge access.go, server/store
-- access.go, docs/auth.md).
--
-- projects.access_class replaces the two-value visibility and keeps its
-- meaning: "public" (anyone) and "private" (owners, the owning team, app
-- users, admins) are classes; "authenticated" and the operator's named
-- classes (server.hcl access { class "internal" { ... } }) are new. The
-- class is a name; the server validates it against its configuration.
-- visibility stays, derived from the class by a trigger ("public", or
-- "private" for every class that needs a login), so readers of the old
-- column keep working, and a writer of the old column (visibility =
-- 'private') still sets the class it means.
ALTER TABLE projects ADD COLUMN access_class text NOT NULL DEFAULT 'public';
UPDATE projects SET access_class = visibility;
ALTER TABLE projects ADD CONSTRAINT projects_access_class_format
    CHECK (access_class ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$');

CREATE FUNCTION rise_projects_access_class() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.visibility NOT IN ('public', 'private') THEN
        RAISE EXCEPTION 'visibility must be public or private, not %', NEW.visibility
            USING ERRCODE = 'check_violation', CONSTRAINT = 'projects_visibility';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.access_class = 'public' AND NEW.visibility = 'private' THEN
            NEW.access_class := 'private';
        END IF;
    ELSIF NEW.access_class IS NOT DISTINCT FROM OLD.access_class
        AND NEW.visibility IS DISTINCT FROM OLD.visibility THEN
        NEW.access_class := NEW.visibility;
    END IF;
    NEW.visibility := CASE WHEN NEW.access_class = 'public' THEN 'public' ELSE 'private' END;
    RETURN NEW;
END $$;

CREATE TRIGGER projects_access_class BEFORE INSERT OR UPDATE OF access_class, visibility ON projects
    FOR EACH ROW EXECUTE FUNCTION rise_projects_access_class();

-- Changing the class between non-public classes leaves visibility alone,
-- so it notifies the edge on its own (0008's trigger covers the rest).
CREATE FUNCTION rise_routes_project_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.access_class IS DISTINCT FROM OLD.access_class THEN
        PERFORM pg_notify('rise_routes', 'p:' || NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER projects_access_routes_notify AFTER UPDATE OF access_class ON projects
    FOR EACH ROW EXECUTE FUNCTION rise_routes_project_access();

-- project_app_users: people (a user, or every member of a team) who may
-- use a project's running app through the edge, without any right on the
-- project itself (no deploy, variables, logs or settings).
CREATE TABLE project_app_users (
    project_id uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    uuid        REFERENCES users (id) ON DELETE CASCADE,
    team_id    uuid        REFERENCES teams (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_app_users_one_subject CHECK ((user_id IS NULL) <> (team_id IS NULL))
);
CREATE UNIQUE INDEX project_app_users_user_key ON project_app_users (project_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX project_app_users_team_key ON project_app_users (project_id, team_id) WHERE team_id IS NOT NULL;
CREATE INDEX project_app_users_user_idx ON project_app_users (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX project_app_users_team_idx ON project_app_users (team_id) WHERE team_id IS NOT NULL;

CREATE FUNCTION rise_routes_app_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('rise_routes', 'p:' || OLD.project_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.project_id IS DISTINCT FROM OLD.project_id) THEN
        PERFORM pg_notify('rise_routes', 'p:' || NEW.project_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER project_app_users_routes_notify AFTER INSERT OR UPDATE OR DELETE ON project_app_users
    FOR EACH ROW EXECUTE FUNCTION rise_routes_app_user();

-- Teams that follow an identity provider's groups: managed_by names the
-- provider ("oidc:<name>"), '' for teams kept by hand. A membership the
-- provider made is synced; logins add and remove synced memberships only,
-- so owners set by hand stay.
ALTER TABLE teams ADD COLUMN managed_by text NOT NULL DEFAULT '';
ALTER TABLE team_members ADD COLUMN synced boolean NOT NULL DEFAULT false;

-- The user's groups as the identity provider sent them at the last login
-- (access classes and allow-lists by group read them).
ALTER TABLE users ADD COLUMN idp_groups text[] NOT NULL DEFAULT '{}';
