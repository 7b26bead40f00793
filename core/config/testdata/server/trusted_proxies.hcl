trusted_proxies = ["10.0.0.0/8", "192.0.2.1", "proxy.example.com"]

database {
  url = "postgres://rise@127.0.0.1:5432/rise"
}
