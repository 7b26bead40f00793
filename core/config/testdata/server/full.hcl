listen     = "0.0.0.0:8080"
public_url = "https://rise.example.com/"
domain     = "apps.example.com"
app_scheme = "https"
plugin_dir = "plugins"
data_dir   = "~/rise-data"

database {
  url       = env("RISE_TEST_DATABASE_URL")
  max_conns = 20
}

auth {
  token_ttl        = "30m"
  signing_key_file = "/etc/rise/signing.pem"

  local {
    user "admin@example.com" {
      password_hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
      name          = "Admin"
      admin         = true
    }
    user "dev@example.com" {
      password_hash = "$2b$12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
    }
  }

  oidc "dex" {
    issuer        = "http://127.0.0.1:5556/dex"
    client_id     = "rise"
    client_secret = env("RISE_TEST_DEX_SECRET")
    admin_emails  = ["ops@example.com"]
  }

  oidc "google" {
    issuer    = "https://accounts.google.com"
    client_id = "rise.apps.googleusercontent.com"
    scopes    = ["openid", "email"]
  }

  trusted_issuer "gitlab" {
    issuer                = "https://gitlab.example.com"
    audience              = "rise"
    allow_private_network = true
  }
}

registry "docker" {
  url       = "127.0.0.1:5000"
  token_ttl = "5m"
}

runtime "kubernetes" {
  kubeconfig = "~/.kube/config"
  namespace  = env("RISE_TEST_UNSET", "rise-apps")
  ingress {
    class = "nginx"
  }
}

plugin "ecs" {
  path   = "/opt/rise/plugins/rise-plugin-ecs"
  sha256 = "sha256:5B1C0E2D9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A3B2C"
  env    = { AWS_REGION = "eu-west-1", AWS_PROFILE = "deployer" }
}

plugin "local" {
  path = "bin/rise-plugin-local"
}

audit {
  retention = "365d"
}

images {
  allow_private_registries = ["10.0.0.0/8", "fd00::/8"]
}

metrics {
  listen = "127.0.0.1:9090"
}

encryption {
  provider = "local"
  key      = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
  old_keys = ["ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="]
}
