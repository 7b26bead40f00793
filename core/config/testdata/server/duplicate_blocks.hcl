database {
  url = "postgres://127.0.0.1/rise"
}
database {
  url = "postgres://127.0.0.1/other"
}
runtime "docker" {}
runtime "kubernetes" {}
