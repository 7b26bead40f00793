DROP TRIGGER IF EXISTS deployments_a_timeline ON deployments;
DROP FUNCTION IF EXISTS rise_deployment_timeline();
DROP TABLE IF EXISTS deployment_events;
