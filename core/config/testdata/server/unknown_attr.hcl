lisen = "127.0.0.1:3000"
database {
  url = "postgres://127.0.0.1/rise"
}
