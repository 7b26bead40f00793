-- 0008 edge routes: change notifications (LISTEN rise_routes) that keep the
-- edge's in-memory route table current. Payloads are small:
--   "p:<project uuid>"  the project's routing or access changed (created,
--                       deleted, renamed, visibility, owner, status, its
--                       active deployments or their upstreams)
--   "t:<team uuid>"     the team's members changed

CREATE FUNCTION rise_routes_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('rise_routes', 'p:' || OLD.id);
    ELSIF TG_OP = 'INSERT'
        OR NEW.name IS DISTINCT FROM OLD.name
        OR NEW.visibility IS DISTINCT FROM OLD.visibility
        OR NEW.owner_user_id IS DISTINCT FROM OLD.owner_user_id
        OR NEW.owner_team_id IS DISTINCT FROM OLD.owner_team_id
        OR NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM pg_notify('rise_routes', 'p:' || NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER projects_routes_notify AFTER INSERT OR UPDATE OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION rise_routes_project();

CREATE FUNCTION rise_routes_deployment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.active THEN
            PERFORM pg_notify('rise_routes', 'p:' || OLD.project_id);
        END IF;
    ELSIF (NEW.active OR (TG_OP = 'UPDATE' AND OLD.active))
        AND (TG_OP = 'INSERT'
            OR NEW.active IS DISTINCT FROM OLD.active
            OR NEW.upstreams IS DISTINCT FROM OLD.upstreams
            OR NEW.deployment_group IS DISTINCT FROM OLD.deployment_group
            OR NEW.deployment_id IS DISTINCT FROM OLD.deployment_id) THEN
        PERFORM pg_notify('rise_routes', 'p:' || NEW.project_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER deployments_routes_notify AFTER INSERT OR UPDATE OR DELETE ON deployments
    FOR EACH ROW EXECUTE FUNCTION rise_routes_deployment();

CREATE FUNCTION rise_routes_team_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('rise_routes', 't:' || OLD.team_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.team_id IS DISTINCT FROM OLD.team_id) THEN
        PERFORM pg_notify('rise_routes', 't:' || NEW.team_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER team_members_routes_notify AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION rise_routes_team_member();
