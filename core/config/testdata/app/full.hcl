project = "secret-app"

build "pack" {
  builder    = "paketobuildpacks/builder:base"
  buildpacks = ["paketo-buildpacks/go"]
}

deploy {
  group       = "default"
  port        = 8080
  replicas    = 2
  env         = { LOG_LEVEL = "info", GREETING = "hello" }
  health_path = "/healthz"
  cpu         = "500m"
  memory      = "512Mi"
  command     = ["/app/server", "--verbose"]
}
