DROP TRIGGER IF EXISTS projects_notify_deleting ON projects;
DROP FUNCTION IF EXISTS rise_notify_project();
DROP TRIGGER IF EXISTS deployments_notify ON deployments;
DROP FUNCTION IF EXISTS rise_notify_deployment();
DROP TABLE IF EXISTS controller_leases;
DROP TABLE IF EXISTS deployments;
