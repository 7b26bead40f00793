listen     = "127.0.0.1:3443"
app_scheme = "http"
database { url = env("RISE_TEST_DATABASE_URL") }
tls {
  redirect_listen = "127.0.0.1:3443"
  hsts            = "a year"
  key_file        = "k.pem"
  acme {
    email = "not an email"
    ca    = "http://acme.example.com/dir"
  }
}
domains { resolver = "8.8.8.8" }
