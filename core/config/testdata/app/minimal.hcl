project = "secret-app"
