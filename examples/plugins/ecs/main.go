// Command rise-plugin-ecs is an example third-party rise plugin: a runtime
// that runs apps on AWS ECS Fargate. It is built only on rise's public SDK
// (github.com/riseplatform/rise/sdk) and aws-sdk-go-v2, as its own binary;
// docs/plugins.md walks through it.
//
// Install it on the plugin path, or point server.hcl at it:
//
//	plugin "ecs" {
//	  path   = "/opt/rise/plugins/rise-plugin-ecs"
//	  sha256 = "..."                      # sha256sum rise-plugin-ecs
//	  env    = { AWS_PROFILE = "deployer" }
//	}
//	runtime "ecs" {
//	  region  = "eu-west-1"
//	  cluster = "apps"
//	  subnets = ["subnet-0a1", "subnet-0b2"]
//	  execution_role_arn = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
//	}
package main

import "github.com/riseplatform/rise/sdk"

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "0.1.0"

func main() {
	sdk.Serve(plugin())
}

func plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "ecs",
		Version: version,
		Components: []sdk.Component{{
			Name:        "ecs",
			Description: "Runs apps as AWS ECS Fargate services",
			New:         func() any { return new(Runtime) },
		}},
	}
}
