listen = "127.0.0.1:3000
database {
