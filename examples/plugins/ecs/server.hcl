# server.hcl for a rise server that runs apps on AWS ECS Fargate through the
# rise-plugin-ecs binary. docs/plugins.md walks through it; check it with
#
#   ECS_PLUGIN_SHA256=$(sha256sum rise-plugin-ecs | cut -d' ' -f1) \
#     rise server check --config examples/plugins/ecs/server.hcl

listen     = "127.0.0.1:3000"
public_url = "http://localhost:3000"
domain     = "apps.example.com"
database { url = env("DATABASE_URL", "postgres://rise@127.0.0.1:5432/rise") }

# auth { ... }: users and identity providers, see docs/auth.md. Without
# it the server starts (and `rise server check` warns that nobody can log in).

# The plugin binary, pinned by its SHA-256 (checked before every launch), and
# its entire environment: the server's own variables never reach it.
plugin "ecs" {
  path   = env("ECS_PLUGIN", "./rise-plugin-ecs")
  sha256 = env("ECS_PLUGIN_SHA256")
  env = {
    AWS_ACCESS_KEY_ID     = env("AWS_ACCESS_KEY_ID", "")
    AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", "")
  }
}

# The runtime block is validated against the plugin's schema at start-up.
runtime "ecs" {
  region             = "eu-west-1"
  cluster            = "apps"
  subnets            = ["subnet-0a1", "subnet-0b2"]
  security_groups    = ["sg-0c3"]
  execution_role_arn = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
  cpu                = "256"
  memory             = "512"
  log_group          = "/rise/apps"
  domain             = "apps.example.com"
  endpoint           = env("ECS_ENDPOINT", "") # tests and VPC endpoints; empty: the AWS default
}
