# No Dockerfile: the docker builder serves this static site with busybox
# httpd on port 8080 from a generated Dockerfile. base_image is the local
# image `make dev` makes (nothing is pulled on a machine without registry
# access); without it the base is the documented default, busybox:1.37.
# Delete the build block to let rise auto-detect the builder.
project = "site"

build "docker" {
  base_image = "localhost/rise-base:busybox"
}

deploy {
  port        = 8080
  health_path = "/"
}
