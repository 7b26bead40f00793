database { url = "postgres://rise@127.0.0.1/rise" }

auth {
  local {
    user "dev@example.com" {
      password_hash = "$2b$12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
    }
  }
  oidc "dex" {
    issuer       = "http://127.0.0.1:5556/dex"
    client_id    = "rise"
    group_prefix = "rise-"
  }
}

access {
  authenticated {
    email_domains = ["@example.com"]
  }
  class "private" {
    groups = ["x"]
  }
  class "Internal" {
    groups = ["employees"]
  }
  class "everyone" {
  }
}

teams {
  create = "nobody"
}
