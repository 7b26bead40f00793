DROP TABLE deployment_variables;
DROP TABLE variables;
