# No build block and no Dockerfile: rise auto-detects the builder. With
# `pack` or `railpack` installed they build it; otherwise the docker builder
# serves this static site with busybox httpd on port 8080.
project = "site"

deploy {
  port        = 8080
  health_path = "/"
}
