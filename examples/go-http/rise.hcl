project = "go-http"

build "docker" {}

deploy {
  port        = 8080
  health_path = "/healthz"
  env = {
    GREETING = "Hello from Go on rise!"
  }
}
