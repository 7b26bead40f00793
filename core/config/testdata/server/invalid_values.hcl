listen     = "localhost"
public_url = "rise.example.com"
domain     = "Apps.Example.com"
app_scheme = "ftp"

database {
  url       = "mysql://root@localhost/rise"
  max_conns = -1
}

auth {
  token_ttl = "12 hours"
  local {
    user "admin" {
      password_hash = "hunter2"
    }
    user "dev@example.com" {
      password_hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
    }
    user "DEV@example.com" {
      password_hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
    }
  }
  oidc "dex" {
    issuer    = "127.0.0.1:5556/dex"
    client_id = ""
  }
  oidc "dex" {
    issuer       = "http://127.0.0.1:5556/dex"
    client_id    = "rise"
    admin_emails = ["not an email"]
  }
  trusted_issuer "GitLab" {
    issuer   = "https://gitlab.example.com?x=1"
    audience = " "
  }
}

runtime "Docker" {}

plugin "ecs" {
  sha256 = "abc123"
  env    = { "1BAD" = "x" }
}
plugin "ecs" {}
audit {
  retention = "soon"
}

images {
  allow_private_registries = ["10.0.0.0/8", "10.1.2.3", "intranet"]
}

edge {
  access_log       = "verbose"
  access_log_every = -5
  resync           = "10ms"
}

metrics {
  listen = "9090"
}

encryption {
  provider = "local"
  key      = "c2hvcnQ="
}
