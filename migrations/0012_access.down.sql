ALTER TABLE users DROP COLUMN IF EXISTS idp_groups;
ALTER TABLE team_members DROP COLUMN IF EXISTS synced;
ALTER TABLE teams DROP COLUMN IF EXISTS managed_by;
DROP TRIGGER IF EXISTS project_app_users_routes_notify ON project_app_users;
DROP FUNCTION IF EXISTS rise_routes_app_user();
DROP TABLE IF EXISTS project_app_users;
DROP TRIGGER IF EXISTS projects_access_routes_notify ON projects;
DROP FUNCTION IF EXISTS rise_routes_project_access();
-- visibility is already "private" for every class that needed a login.
DROP TRIGGER IF EXISTS projects_access_class ON projects;
DROP FUNCTION IF EXISTS rise_projects_access_class();
ALTER TABLE projects DROP COLUMN IF EXISTS access_class;
