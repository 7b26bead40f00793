listen     = "0.0.0.0:443"
public_url = "https://rise.example.com"
domain     = "apps.example.com"
database { url = env("RISE_TEST_DATABASE_URL") }
tls {
  redirect_listen = "0.0.0.0:80"
  hsts            = "8760h"
  cert_file       = "certs/wildcard.pem"
  key_file        = "certs/wildcard.key"
  acme {
    email = "ops@example.com"
    ca    = "https://acme-staging-v02.api.letsencrypt.org/directory"
  }
}
domains {
  target    = "edge.example.com"
  addresses = ["203.0.113.10"]
  limit     = 5
}
