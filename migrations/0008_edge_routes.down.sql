DROP TRIGGER IF EXISTS team_members_routes_notify ON team_members;
DROP FUNCTION IF EXISTS rise_routes_team_member();
DROP TRIGGER IF EXISTS deployments_routes_notify ON deployments;
DROP FUNCTION IF EXISTS rise_routes_deployment();
DROP TRIGGER IF EXISTS projects_routes_notify ON projects;
DROP FUNCTION IF EXISTS rise_routes_project();
