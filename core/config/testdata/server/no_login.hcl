database {
  url = "host=127.0.0.1 dbname=rise"
}
