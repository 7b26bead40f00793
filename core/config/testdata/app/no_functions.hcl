project = env("PROJECT")
