database {
  url       = "host=127.0.0.1 dbname=rise"
  max_conns = "many"
}
auth {
  oidc "dex" {
    issuer    = "http://127.0.0.1:5556/dex"
    client_id = "rise"
    scopes    = "openid"
  }
}
