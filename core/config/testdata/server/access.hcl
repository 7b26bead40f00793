database { url = "postgres://rise@127.0.0.1/rise" }

auth {
  local {
    user "dev@example.com" {
      password_hash = "$2b$12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
      groups        = ["employees"]
    }
  }
  oidc "dex" {
    issuer         = "http://127.0.0.1:5556/dex"
    client_id      = "rise"
    sync_groups    = true
    group_prefix   = "rise-"
    allowed_groups = ["staff"]
  }
  oidc "corp" {
    issuer       = "https://login.example.com"
    client_id    = "rise"
    groups_claim = "roles"
  }
}

access {
  authenticated {
    email_domains = ["Example.com"]
    groups        = ["contractors"]
  }
  class "internal" {
    description = "every employee"
    groups      = ["employees"]
  }
}

teams {
  create   = "admins"
  list_all = true
}
