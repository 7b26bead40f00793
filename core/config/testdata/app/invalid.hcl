project = "Secret_App"

build "Pack" {}

deploy {
  group       = "-x"
  port        = 70000
  replicas    = -1
  env         = { "LOG-LEVEL" = "info" }
  health_path = "healthz"
  cpu         = "half"
  memory      = "512MB"
}
