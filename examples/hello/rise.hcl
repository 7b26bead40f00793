# rise deploy (in this directory) builds the Dockerfile and deploys it.
project = "hello"

deploy {
  port        = 8080
  health_path = "/"
}
