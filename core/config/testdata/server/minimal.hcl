# The smallest useful server.hcl: everything else has a default.
database {
  url = env("RISE_TEST_DATABASE_URL")
}
auth {
  local {
    user "admin@example.com" {
      password_hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
      admin         = true
    }
  }
}
